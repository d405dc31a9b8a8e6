-- Shared by the wrk scripts: thread numbering, the items file, status counting and a JSON summary.
-- Arguments after `--`: API key, items file ("location_id item_id variant_id" per line).

local counter = 0
local threads = {}

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function load_items(path)
  local items = {}
  for line in io.lines(path) do
    local loc, item, variant = line:match("(%d+)%s+(%d+)%s+(%d+)")
    if loc then
      table.insert(items, {loc = tonumber(loc), item = tonumber(item), variant = tonumber(variant)})
    end
  end
  return items
end

statuses = {}
first_error = ""

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if status >= 300 and first_error == "" then
    first_error = string.sub(body or "", 1, 300)
  end
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local merged, err = {}, ""
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses") or {}) do
      merged[code] = (merged[code] or 0) + n
    end
    local e = thread:get("first_error")
    if err == "" and e and e ~= "" then err = e end
  end
  local parts = {}
  for code, n in pairs(merged) do table.insert(parts, string.format('"%s": %d', code, n)) end
  io.write("BENCH_JSON ", string.format(
    '{"requests": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, ' ..
    '"timeouts": %d, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "statuses": {%s}, "first_error": %s}\n',
    summary.requests, summary.duration, summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, table.concat(parts, ", "), json_string(err)))
end
