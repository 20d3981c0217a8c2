-- The soak's mixed load, per connection in turn: 4 films pages, 2 category pages, 2 films by
-- id, then rent + return (a rental is returned as soon as its 201 arrives). Each thread rents
-- from its own slice of the free copies (the file given as the first argument).
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local CATEGORIES = { "action", "comedy", "drama", "horror", "sci-fi", "family", "games", "music" }
local copies, pending = {}, {}
local n, next_copy, customer = 0, 0, 0
rented, returned, conflicts, server_errors = 0, 0, 0, 0

function init(args)
  local slot, i = index, 0
  for line in io.lines(args[1]) do
    if i % tonumber(args[3]) == slot then table.insert(copies, tonumber(line)) end
    i = i + 1
  end
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local rental = table.remove(pending)
  if rental then
    return wrk.format("PUT", "/rentals/" .. rental .. "/return", nil, "")
  end
  n = n + 1
  local kind = n % 10
  if kind < 4 then
    return wrk.format("GET", "/films?limit=20&offset=" .. (n * 7 % 980))
  elseif kind < 6 then
    return wrk.format("GET", "/films?category=" .. CATEGORIES[n % #CATEGORIES + 1])
  elseif kind < 8 then
    return wrk.format("GET", "/films/" .. (n % 1000 + 1))
  end
  next_copy = next_copy % #copies + 1
  customer = customer % 599 + 1
  local body = '{"inventory_id":' .. copies[next_copy] .. ',"staff_id":1}'
  return wrk.format("POST", "/customers/" .. customer .. "/rentals", nil, body)
end

function response(status, headers, body)
  if status >= 500 then
    server_errors = server_errors + 1
  elseif status == 201 then
    rented = rented + 1
    table.insert(pending, body:match('"rental_id":%s*(%d+)'))
  elseif status == 409 then
    conflicts = conflicts + 1
  elseif status == 200 and headers["Location"] == nil and body:match('"return_date":%s*"') then
    returned = returned + 1
  end
end

function done(summary, latency, requests)
  local totals = { rented = 0, returned = 0, conflicts = 0, server_errors = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(totals) do totals[k] = totals[k] + t:get(k) end
  end
  report.report(summary, latency, totals)
end
