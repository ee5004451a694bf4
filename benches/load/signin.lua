-- wrk script: the staff sign-in's password step (argon2id verify, then the
-- flow, an OTP and its SMS in one write). One account: once its per-phone
-- OTP cap is reached the answer is 429 after the same password check, so
-- every request still costs one hash. Each request from its own IP (behind
-- the trusted proxy), so the per-IP limit does not end the run.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"' .. (os.getenv("ADMIN") or "loadadmin") .. '","password":"Pass#Word2026x"}'
local n = 0
request = function()
  n = n + 1
  wrk.headers["X-Forwarded-For"] = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format()
end
