-- wrk script: rotating refresh-token grants. Each thread keeps a queue of live refresh tokens
-- (a slice of the file WW_TOKENS); a request takes one, the response gives back its successor.
-- There must be more tokens per thread than connections per thread. WW_FORWARDED and
-- WW_USER_AGENT, when set, are sent as X-Forwarded-For and User-Agent (continuous evaluation).
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  table.insert(threads, thread)
  counter = counter + 1
end

local queue = {}
local failures = 0

function init(args)
  local all = {}
  for line in io.lines(os.getenv("WW_TOKENS")) do
    if not line:find("^access_token") then table.insert(all, line) end
  end
  local n = tonumber(os.getenv("WW_THREADS") or "1")
  for i = id, #all, n do table.insert(queue, all[i]) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = os.getenv("WW_BASIC")
  if os.getenv("WW_FORWARDED") then wrk.headers["X-Forwarded-For"] = os.getenv("WW_FORWARDED") end
  if os.getenv("WW_USER_AGENT") then wrk.headers["User-Agent"] = os.getenv("WW_USER_AGENT") end
end

function request()
  local token = table.remove(queue, 1) or "exhausted"
  return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  local rt = body:match('"refresh_token":"([^"]+)"')
  if rt then table.insert(queue, rt) else failures = failures + 1 end
end
