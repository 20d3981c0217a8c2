-- GET scenarios: the path comes from the command line (wrk ... -- /films?limit=20).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")

function init(args)
  wrk.path = args[1]
end

function done(summary, latency, requests)
  report.report(summary, latency)
end
