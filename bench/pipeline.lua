-- wrk script: HTTP/1.1 pipelining, 16 requests per write on each
-- connection.  wrk counts every response, so requests/s stays comparable
-- with the other rows.  Used by bench/run.sh for the "pipelining" row:
--   wrk -t1 -c100 -d10s -s bench/pipeline.lua http://127.0.0.1:PORT/r

local depth = 16
local batch

init = function(args)
    local reqs = {}
    for i = 1, depth do
        reqs[i] = wrk.format(nil, wrk.path)
    end
    batch = table.concat(reqs)
end

request = function()
    return batch
end
