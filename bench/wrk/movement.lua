-- One Spree stock movement per request: POST /api/v1/stock_locations/{id}/stock_movements on an item
-- drawn uniformly from the items file. The mix matches bench/floor.py: 10% receipts of 18 units, 90%
-- sales of 1-3 units, so the expected change is zero and open cost layers stay bounded.
package.path = package.path .. ";bench/wrk/?.lua"
require("common")

local items, headers

function init(args)
  headers = {["Authorization"] = "Bearer " .. args[1], ["Content-Type"] = "application/json"}
  items = load_items(args[2])
  math.randomseed(os.time() + tid * 7919)
end

function request()
  local it = items[math.random(#items)]
  local quantity, action = -math.random(1, 3), "sold"
  if math.random() < 0.1 then quantity, action = 18, "received" end
  local body = string.format('{"stock_movement": {"stock_item_id": %d, "quantity": %d, "action": "%s"}}',
    it.item, quantity, action)
  return wrk.format("POST", "/api/v1/stock_locations/" .. it.loc .. "/stock_movements", headers, body)
end
