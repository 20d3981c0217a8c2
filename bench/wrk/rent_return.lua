-- Rent + return pairs: each thread rents copies from its own slice of the free copies (listed in
-- the file given as the first argument), and returns each as soon as its 201 arrives.
package.path = package.path .. ";" .. debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua"
local report = require("report")

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local copies, pending = {}, {}
local next_copy, customer = 0, 0
rented, returned, conflicts, other = 0, 0, 0, 0

function init(args)
  local token = args[2]
  local slot, i = index, 0
  for line in io.lines(args[1]) do
    if i % tonumber(args[3]) == slot then table.insert(copies, tonumber(line)) end
    i = i + 1
  end
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local rental = table.remove(pending)
  if rental then
    return wrk.format("PUT", "/rentals/" .. rental .. "/return", nil, "")
  end
  next_copy = next_copy % #copies + 1
  customer = customer % 599 + 1
  local body = '{"inventory_id":' .. copies[next_copy] .. ',"staff_id":1}'
  return wrk.format("POST", "/customers/" .. customer .. "/rentals", nil, body)
end

function response(status, headers, body)
  if status == 201 then
    rented = rented + 1
    table.insert(pending, body:match('"rental_id":%s*(%d+)'))
  elseif status == 200 then
    returned = returned + 1
  elseif status == 409 then
    conflicts = conflicts + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = { rented = 0, returned = 0, conflicts = 0, other = 0 }
  for _, t in ipairs(threads) do
    for k, _ in pairs(totals) do totals[k] = totals[k] + t:get(k) end
  end
  report.report(summary, latency, totals)
end
