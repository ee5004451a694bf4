-- wrk script: portal pages, alternating / and /dang-nhap.
local paths = { "/", "/dang-nhap" }
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % 2) + 1])
end
