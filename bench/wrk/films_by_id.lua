-- GET /films/{id}, ids 1..1000 in turn.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")
local n = 0

function request()
  n = n + 1
  return wrk.format("GET", "/films/" .. (n % 1000 + 1))
end

function done(summary, latency, requests)
  report.report(summary, latency)
end
