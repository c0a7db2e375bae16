-- wrk script: POST a 64 KiB form of 9,362 distinct parameter names to the token endpoint, as an
-- unauthenticated attacker would (issue 9, defect 7). Each is refused by count before anything
-- else; the point is what it costs the server and everyone else.
local names = {}
for i = 0, 9361 do names[#names + 1] = string.format("%05d", i) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = table.concat(names, "&")
