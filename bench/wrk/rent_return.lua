-- Rent + return pairs: each thread rents copies from its own slice of the free copies (listed in
-- the file given as the first argument), and returns each as soon as its 201 arrives.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")
local renting = require("renting")

rented, returned, conflicts, other = 0, 0, 0, 0

function setup(thread)
  renting.setup(thread)
end

function init(args)
  renting.init(args, index)
end

function request()
  return renting.pending_return() or renting.rent()
end

function response(status, headers, body)
  if status == 201 then
    rented = rented + 1
    renting.rented(body)
  elseif status == 200 then
    returned = returned + 1
  elseif status == 409 then
    conflicts = conflicts + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  report.report(summary, latency, renting.totals({ "rented", "returned", "conflicts", "other" }))
end
