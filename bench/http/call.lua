-- wrk script: MCP `tools/call echo` with a unique JSON-RPC id per request.
--   wrk ... -s call.lua URL -- MODE VERSION [SESSION] [check]
-- MODE: stateless  -> 2026-07-28 headers (Mcp-Method, Mcp-Name) + _meta in params
--                     (VERSION is sent as MCP-Protocol-Version and in _meta)
--       legacy     -> MCP-Protocol-Version: VERSION, Mcp-Session-Id: SESSION if given
--       rest       -> Tenet's REST facade: POST /tools/<tool> with the arguments as the
--                     body (no id, no MCP headers); the answer is the echoed text
-- WRK_TOKEN in the environment is sent as `Authorization: Bearer …`; WRK_TOKENS (a
-- comma-separated list) instead sends each request with the next of them in turn, as
-- that many callers would (stateless mode: no session binds a request to one); WRK_TOOL names
-- the tool to call (default `echo`: through a gateway or a node, `up__echo`, say).
-- With WRK_CHECK=1 in the environment every response is also inspected (slower):
-- one that is not 200 or does not echo "hello world" is counted as bad.
-- done() prints one JSON line to stdout: requests, duration, errors, latency.

-- Globals on purpose: setup() sets `tid` and done() reads `bad`, `checked`,
-- `sample` from each thread's Lua state through thread:set / thread:get.
local threads = {}
counter = 0
tid = tid or 0
mode, version, session = "stateless", "2026-07-28", nil
bad, checked, sample = 0, 0, nil

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

function init(args)
   mode = args[1] or mode
   version = args[2] or version
   for i = 3, #args do
      if args[i] ~= "" and args[i] ~= "-" then session = args[i] end
   end
   wrk.headers["Content-Type"] = "application/json"
   if mode ~= "rest" then
      wrk.headers["Accept"] = "application/json, text/event-stream"
      wrk.headers["MCP-Protocol-Version"] = version
   end
   local tool = os.getenv("WRK_TOOL")
   if tool and tool ~= "" then
      post_legacy = string.gsub(post_legacy, '"name":"echo"', '"name":"' .. tool .. '"')
      post_stateless = string.gsub(post_stateless, '"name":"echo"', '"name":"' .. tool .. '"')
      tail = post_legacy
   else
      tool = "echo"
   end
   if mode == "stateless" then
      wrk.headers["Mcp-Method"] = "tools/call"
      wrk.headers["Mcp-Name"] = tool
   end
   if session then wrk.headers["Mcp-Session-Id"] = session end
   local token = os.getenv("WRK_TOKEN")
   if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
   tid = tonumber(tid) or 0
   -- Built once, so that per request wrk only joins the id and the length in:
   -- the load generator's own cost is then as small as it can be, for every peer.
   if mode == "stateless" then tail = string.format(post_stateless, version) end
   if mode == "rest" then
      rest_body = '{"text":"hello world"}'
      rest_request = wrk.format("POST", "/tools/" .. tool, nil, rest_body)
   end
   head = string.sub(wrk.format("POST", nil, nil, nil), 1, -3)
   local tokens = os.getenv("WRK_TOKENS")
   if tokens and tokens ~= "" then
      for t in string.gmatch(tokens, "[^,]+") do
         wrk.headers["Authorization"] = "Bearer " .. t
         table.insert(heads, string.sub(wrk.format("POST", nil, nil, nil), 1, -3))
      end
   end
end

heads = {}

pre = '{"jsonrpc":"2.0","id":"'
post_legacy = '","method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"}}}'
post_stateless = '","method":"tools/call","params":{"name":"echo","arguments":{"text":"hello world"},"_meta":{"io.modelcontextprotocol/protocolVersion":"%s","io.modelcontextprotocol/clientCapabilities":{}}}}'
tail = post_legacy

function request()
   if rest_request then return rest_request end
   counter = counter + 1
   local body = pre .. tid .. "-" .. counter .. tail
   local h = #heads > 0 and heads[counter % #heads + 1] or head
   return h .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
end

if os.getenv("WRK_CHECK") == "1" then
   -- response() is only defined in check mode (it costs wrk throughput).
   function response(status, headers, body)
      checked = checked + 1
      local want = rest_request and '"hello world"' or '"text":"hello world"'
      if status ~= 200 or not body or not string.find(body, want, 1, true) then
         bad = bad + 1
         if not sample then sample = tostring(status) .. " " .. string.sub(body or "", 1, 200) end
      end
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local nbad, nchecked, samp = 0, 0, ""
   for _, t in ipairs(threads) do
      nbad = nbad + (tonumber(t:get("bad")) or 0)
      nchecked = nchecked + (tonumber(t:get("checked")) or 0)
      local s = t:get("sample")
      if s and samp == "" then samp = s end
   end
   samp = string.gsub(samp, '[\\"]', function(c) return "\\" .. c end)
   samp = string.gsub(samp, '[%c]', " ")
   io.write(string.format(
      '{"requests":%d,"duration_us":%d,"rps":%.1f,"non2xx":%d,"connect_err":%d,"read_err":%d,"write_err":%d,"timeout_err":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,"checked":%d,"bad":%d,"bad_sample":"%s"}\n',
      summary.requests, summary.duration, summary.requests / (summary.duration / 1e6), e.status, e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, nchecked, nbad, samp))
end
