-- wrk script of the soak test (test/server/soak_test.py writes the cases file it loads).
--
-- Every request gets a fresh uid; every answer is compared byte for byte with the expected
-- answer for that case and that uid (status and body). Each wrk thread drives exactly one
-- connection (soak_test.py runs wrk with -c equal to -t) and wrk does not pipeline, so one request
-- is outstanding per thread and the next answer is its answer. wrk calls request() again without
-- an answer when its first write of a request did not go out (an SSL_write retry) or after a
-- reconnect; the outstanding request is then returned again, same uid. Cases marked `close` send
-- `Connection: close`, so wrk opens a new connection (a new TLS handshake) for the next request.
--
-- Environment: SOAK_CASES (path of the Lua cases file: a table of {path, close, status, body_pre,
-- body_post, exp_pre, exp_post} plus `schedule`, a list of case indexes in the order to send them).
local spec = dofile(os.getenv("SOAK_CASES"))
local cases, schedule = spec.cases, spec.schedule

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  sent, ok, bad, closes = 0, 0, 0, 0
  first_bad = ""
  pending = nil  -- {case index, uid, request bytes} of the request awaiting its answer
  resends = 0
  per_case = {}
  for i = 1, #cases do per_case[i] = 0 end
end

function request()
  if pending ~= nil then
    resends = resends + 1
    return pending[3]
  end
  sent = sent + 1
  local ci = schedule[(sent + tid * 37) % #schedule + 1]
  local c = cases[ci]
  local uid = "soak-" .. tid .. "-" .. sent
  local headers = {["Content-Type"] = "application/json"}
  if c.close then
    headers["Connection"] = "close"
    closes = closes + 1
  end
  local body = c.body_pre
  if c.body_post ~= nil then body = c.body_pre .. uid .. c.body_post end
  pending = {ci, uid, wrk.format("POST", c.path, headers, body)}
  return pending[3]
end

function response(status, headers, body)
  local e = pending
  pending = nil
  if e == nil then
    bad = bad + 1
    if first_bad == "" then first_bad = "an answer with no request outstanding" end
    return
  end
  local c = cases[e[1]]
  local want = c.exp_pre
  if c.exp_post ~= nil then want = c.exp_pre .. e[2] .. c.exp_post end
  if status == c.status and body == want then
    ok = ok + 1
    per_case[e[1]] = per_case[e[1]] + 1
  else
    bad = bad + 1
    if first_bad == "" then
      first_bad = "uid " .. e[2] .. " (case " .. e[1] .. "): status " .. status .. ", body "
                  .. string.sub(body, 1, 200)
    end
  end
end

local function esc(s)
  return (string.gsub(s, '[%c"\\]', function(ch) return string.format("\\u%04x", string.byte(ch)) end))
end

function done(summary, latency, requests)
  local t_sent, t_ok, t_bad, t_closes, t_resends, firsts = 0, 0, 0, 0, 0, {}
  local totals = {}
  for i = 1, #cases do totals[i] = 0 end
  for _, th in ipairs(threads) do
    t_sent = t_sent + th:get("sent")
    t_ok = t_ok + th:get("ok")
    t_bad = t_bad + th:get("bad")
    t_closes = t_closes + th:get("closes")
    t_resends = t_resends + th:get("resends")
    local fb = th:get("first_bad")
    if fb ~= "" then table.insert(firsts, '"' .. esc(fb) .. '"') end
    local pc = th:get("per_case")
    for i = 1, #cases do totals[i] = totals[i] + pc[i] end
  end
  local e = summary.errors
  io.write(string.format(
    'SOAK {"sent":%d,"ok":%d,"bad":%d,"closes":%d,"resends":%d,"wrk_requests":%d,"duration_us":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"per_case":[%s],"first_bad":[%s]}\n',
    t_sent, t_ok, t_bad, t_closes, t_resends, summary.requests, summary.duration, e.connect, e.read, e.write,
    e.timeout, e.status, latency:percentile(50), latency:percentile(99), latency.max,
    table.concat(totals, ","), table.concat(firsts, ",")))
end
