-- A GET sent with If-None-Match (the path and the ETag come from the command line): the server
-- answers 304 with no body while the representation is unchanged.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")

function init(args)
  wrk.path = args[1]
  wrk.headers["If-None-Match"] = args[2]
end

function done(summary, latency, requests)
  report.report(summary, latency)
end
