-- wrk script: the console's citizen list, searched by a common name (the
-- bearer token comes from benches/load.sh with -H).
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")
if pause > 0 then
  delay = function() return pause end
end
