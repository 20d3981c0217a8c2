-- The soak's mixed load, per connection in turn: 4 films pages, 2 category pages, 2 films by
-- id, then rent + return (a rental is returned as soon as its 201 arrives). Each thread rents
-- from its own slice of the free copies (the file given as the first argument).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")
local renting = require("renting")

local CATEGORIES = { "action", "comedy", "drama", "horror", "sci-fi", "family", "games", "music" }
local n = 0
rented, returned, conflicts, server_errors = 0, 0, 0, 0

function setup(thread)
  renting.setup(thread)
end

function init(args)
  renting.init(args, index)
end

function request()
  local give_back = renting.pending_return()
  if give_back then return give_back end
  n = n + 1
  local kind = n % 10
  if kind < 4 then
    return wrk.format("GET", "/films?limit=20&offset=" .. (n * 7 % 980))
  elseif kind < 6 then
    return wrk.format("GET", "/films?category=" .. CATEGORIES[n % #CATEGORIES + 1])
  elseif kind < 8 then
    return wrk.format("GET", "/films/" .. (n % 1000 + 1))
  end
  return renting.rent()
end

function response(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  elseif status == 201 then
    rented = rented + 1
    renting.rented(body)
  elseif status == 409 then
    conflicts = conflicts + 1
  elseif status == 200 and headers["Location"] == nil and body:match('"return_date":%s*"') then
    returned = returned + 1
  end
end

function done(summary, latency, requests)
  local names = { "rented", "returned", "conflicts", "server_errors" }
  report.report(summary, latency, renting.totals(names))
end
