-- Shared by every scenario: print one JSON line with what the driver needs.
local M = {}

function M.report(summary, latency, extra)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local fields = {
    string.format('"requests":%d', summary.requests),
    string.format('"seconds":%.3f', seconds),
    string.format('"rps":%.1f', summary.requests / seconds),
    string.format('"p50_ms":%.2f', latency:percentile(50) / 1000),
    string.format('"p99_ms":%.2f', latency:percentile(99) / 1000),
    string.format('"non_2xx":%d', e.status),
    string.format('"socket_errors":%d', e.connect + e.read + e.write + e.timeout),
  }
  for k, v in pairs(extra or {}) do
    table.insert(fields, string.format('"%s":%d', k, v))
  end
  io.write("BENCH-JSON {" .. table.concat(fields, ",") .. "}\n")
end

return M
