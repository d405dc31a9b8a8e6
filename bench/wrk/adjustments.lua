-- Bulk counts: POST /api/v1/inventory/adjustments. Thread n owns items n, n+T, n+2T, ... of the items
-- file (T threads, one connection each) and counts every one of them per request, with a fresh random
-- actual quantity, so each row becomes one `counted` movement (a count that matches writes none).
package.path = package.path .. ";bench/wrk/?.lua"
require("common")

local mine, headers, threads_total

function init(args)
  headers = {["Authorization"] = "Bearer " .. args[1], ["Content-Type"] = "application/json"}
  threads_total = tonumber(args[3])
  local items = load_items(args[2])
  mine = {}
  for i = tid + 1, #items, threads_total do table.insert(mine, items[i]) end
  math.randomseed(os.time() + tid * 7919)
end

function request()
  local rows = {}
  for _, it in ipairs(mine) do
    table.insert(rows, string.format(
      '{"product_id": %d, "warehouse_id": %d, "actual_quantity": %d, "reason": "bench count"}',
      it.variant, it.loc, math.random(100, 1000)))
  end
  local body = '{"adjustments": [' .. table.concat(rows, ", ") .. ']}'
  return wrk.format("POST", "/api/v1/inventory/adjustments", headers, body)
end
