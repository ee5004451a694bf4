-- wrk script: the citizen chat (a new conversation per request, a typed question).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local questions = {
  "lam sao dang ky tai khoan",
  "Tôi quên mật khẩu thì làm thế nào?",
  "không nhận được mã OTP",
  "đổi số điện thoại nhận OTP",
}
local n = 0
request = function()
  n = n + 1
  -- A different citizen (IP, behind the trusted proxy) per conversation.
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  local body = '{"text":"' .. questions[(n % #questions) + 1] .. '","lang":"vi"}'
  return wrk.format(nil, nil, nil, body)
end
-- Paced mode (benches/load.sh with PACED=1): each connection waits this many
-- milliseconds before each request, like a person between clicks.
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
