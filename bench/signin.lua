-- wrk script: POST the hosted sign-in form with a valid CSRF cookie + token pair, as a browser
-- would. The pair is reused by every request (CSRF tokens are stateless HMACs of the cookie).
-- Environment: WW_CSRF_COOKIE (name=value), WW_CSRF_TOKEN, WW_USER, WW_PASSWORD.
local cookie = os.getenv("WW_CSRF_COOKIE")
local token = os.getenv("WW_CSRF_TOKEN")
local user = os.getenv("WW_USER") or "bench"
local password = os.getenv("WW_PASSWORD") or "correct horse battery staple"

local function encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = cookie
wrk.body = "csrf_token=" .. encode(token) .. "&identifier=" .. encode(user) .. "&password=" .. encode(password)
-- wrk itself reports "Non-2xx or 3xx responses" when a sign-in fails (303 is success).
