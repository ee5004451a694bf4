-- wrk script: portal pages, alternating / and /dang-nhap.
local paths = { "/", "/dang-nhap" }
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % 2) + 1])
end
-- Paced mode (benches/load.sh with PACED=1): each connection waits this many
-- milliseconds before each request, like a person between clicks.
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
