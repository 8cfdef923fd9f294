-- wrk script: a fresh install event per request (unique installed_app_id and idempotency key).
local counter = 0
local thread_tag = ""

function setup(thread)
  thread:set("tag", tostring(math.random(1, 1e9)))
end

function init(args)
  thread_tag = tag or tostring(math.random(1, 1e9))
end

function request()
  counter = counter + 1
  local id = "instapp_b" .. thread_tag .. "_" .. counter
  local body = string.format(
    '{"installed_app_id":"%s","app_id":"%s","organization_id":"org_bench","instance_id":"inst_bench",' ..
    '"api_key":"blnk_benchkeybenchkeybenchkeybenchkeybenchkey12","api_key_prefix":"blnk_ben",' ..
    '"granted_permissions":["data:read","data:write","alerts:read","alerts:write"],' ..
    '"idempotency_key":"install:%s"}', id, os.getenv("APP_ID"), id)
  return wrk.format("POST", "/api/callback", {["Content-Type"] = "application/json"}, body)
end
