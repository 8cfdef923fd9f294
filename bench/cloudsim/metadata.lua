-- wrk script: POST /proxy/{id}/metadata?instance_id=… over the seeded identities, the write the
-- KYC pipeline makes once per identity. IDS names a file of identity IDs (one a line),
-- INSTANCE and API_KEY the install's instance and key.
local ids = {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
local instance = os.getenv("INSTANCE")
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("API_KEY")
wrk.body = '{"meta_data":{"kyc":{"status":"clear","score":0.12,"band":"clear",'
  .. '"screened_at":"2026-03-01T00:00:00Z","lists":["ofac-sdn","un-consolidated"]}}}'
request = function()
  counter = counter + 1
  local id = ids[(counter * 7919 + math.random(0, 1000)) % #ids + 1]
  return wrk.format(nil, "/proxy/" .. id .. "/metadata?instance_id=" .. instance)
end
