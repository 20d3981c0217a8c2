-- Shared by the scenarios that rent (rent_return.lua, mixed.lua). Each thread rents copies from
-- its own slice of the free copies (the file in the script's first argument, split over the
-- number of threads in its third; the admin token is the second) and returns each rental as
-- soon as its 201 arrives. wrk runs setup() in its main Lua state and the rest in one state per
-- thread, each with its own copy of this module.
local M = {}

local threads = {}
local copies, pending = {}, {}
local next_copy, customer = 0, 0

-- From setup(): numbers the threads (`index` in each) and keeps them for totals().
function M.setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

-- From init(args): this thread's copies, and the headers of every write.
function M.init(args, index)
  local i = 0
  for line in io.lines(args[1]) do
    if i % tonumber(args[3]) == index then table.insert(copies, tonumber(line)) end
    i = i + 1
  end
  wrk.headers["Authorization"] = "Bearer " .. args[2]
  wrk.headers["Content-Type"] = "application/json"
end

-- The return of the last rental that came back 201, if any.
function M.pending_return()
  local rental = table.remove(pending)
  if rental then
    return wrk.format("PUT", "/rentals/" .. rental .. "/return", nil, "")
  end
end

-- A new rental: the thread's next copy, the next customer.
function M.rent()
  next_copy = next_copy % #copies + 1
  customer = customer % 599 + 1
  local body = '{"inventory_id":' .. copies[next_copy] .. ',"staff_id":1}'
  return wrk.format("POST", "/customers/" .. customer .. "/rentals", nil, body)
end

-- From response() on a 201: its rental is returned next.
function M.rented(body)
  table.insert(pending, body:match('"rental_id":%s*(%d+)'))
end

-- From done(): each named global counter, summed over the threads.
function M.totals(names)
  local totals = {}
  for _, name in ipairs(names) do
    totals[name] = 0
    for _, t in ipairs(threads) do totals[name] = totals[name] + t:get(name) end
  end
  return totals
end

return M
