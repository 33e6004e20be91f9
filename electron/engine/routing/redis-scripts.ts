/**
 * The Lua scripts behind RedisState. Each runs atomically in Redis: one script is one step no other
 * instance can interleave with, which is what makes a shared rate window or budget exact.
 *
 * A record is a hash: `v` (its version, from one counter for the whole namespace, so versions order
 * every write), `d` (its JSON), and for counters kept per process one `i:<instance>` field per
 * instance holding that instance's part (`d` is then their sum). Every change is published on the
 * namespace's channel as `<version> <pttl> <["space","key"]>\n<json>` (a pttl of -2: deleted); the
 * changes of one script go in one message, one after another (JSON holds no raw newline), after a
 * first line naming the instance that made them (empty for the sweep), so that one skips its own
 * changes unread: it has them from the script's reply.
 */

/**
 * Every write RedisState makes, as operations run in order in one script: the writes a request makes
 * within one turn of the event loop (its admission, or its settling: usage, spend, releases, averages)
 * cost one round trip and one published message, not one each.
 *
 * The operations travel packed, as one JSON array argument (decoded by cjson, in C), and the replies
 * come back as one flat JSON array: a request's dozen operations are one argument to encode and one
 * string to parse on either side, not a hundred small ones. Record keys are `<prefix><space>:<key>`,
 * made here from the space and key each operation names.
 *
 * KEYS[1]: the version counter; KEYS[2]: the set of per-process counters. ARGV[1]: the channel;
 * ARGV[2]: this instance; ARGV[3]: the prefix of record keys; ARGV[4]: the operations, one after
 * another in a flat array, each its kind, then its space and key (a reserve: its space), then its
 * arguments. The replies follow in the same order, each of a fixed width:
 * - `c` compare-and-set (space, key, json, expected version (0 = absent, -1 = as this script last wrote
 *   it: chained to an earlier cas of the same batch), ttl ms (0 = keep)): writes the json if the record
 *   is still at that version. 1, version, '', pttl when written; 0, version (0: none), json, pttl (the
 *   record as it is) when not.
 * - `i` increment (space, key, delta, ttl ms for a new record, true when the count is this instance's
 *   part ('own': the delta IS this instance's part, as after an outage), true to add only to a record
 *   that exists): 1, version, json, pttl; or 0, 0, '', -2 when it did nothing. Replaying what was counted while Redis was away adds only to a record Redis still has: a
 *   counter it lost starts from its owner's history instead.
 * - `s` set (space, key, json, ttl ms (0 = none)): version, pttl.
 * - `d` delete (space, key): version; the deletion is published even when Redis had none (a copy may
 *   still hold it).
 * - `r` reserve (space, amount, true when a budget already used up (spent + held ≥ limit) refuses even a
 *   free call (nothing is held for one), the lease's share and most units (core/state.ts, LEASE_SHARE),
 *   true to hold the lease only (a top-up: the amount sizes it and must fit, but is not held), how many
 *   budgets, then per budget: its spent and held counters' keys, limit, seed (the spent
 *   counter's JSON when Redis has none), ttl ms for a counter created here): holds the amount on every
 *   budget (this instance's part) only if it fits in all of them, and with it a lease of whole amounts
 *   sized from the smallest room left (leaseUnits). The index of the first budget it would pass
 *   (0-based), or -1 when held; the lease held beyond the amount (0: none); then each budget's spent and
 *   held counters as they now are: version, json, pttl (0, '', -2 when absent).
 */
export const BATCH = `
local VERSION, PER_PROCESS, CHANNEL, INSTANCE, PREFIX = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
local ops = cjson.decode(ARGV[4])
local out, replies = {}, 0
local changes, changed = {}, 0
-- The version counter is read once and written back once: the script runs alone, so counting here
-- orders the writes as an INCR per write would, at a fraction of the calls.
local version = tonumber(redis.call('GET', VERSION) or '0')
-- The version each record was last written at in this script, for a chained cas (-1).
local written = {}

local function reply(a, b, c, d)
  out[replies + 1], out[replies + 2], out[replies + 3], out[replies + 4] = a, b, c, d
  replies = replies + 4
end
local function publish(space, key, v, pttl, json)
  changed = changed + 1
  changes[changed] = v .. ' ' .. pttl .. ' ["' .. space .. '",' .. cjson.encode(key) .. ']\\n' .. json
end
local function write(record, json)
  version = version + 1
  redis.call('HSET', record, 'v', version, 'd', json)
  written[record] = version
  return version
end
-- A record's expiry after a write: the ttl it was given, else the one it had (-1: none).
local function expire(record, ttl, had)
  if ttl > 0 then
    redis.call('PEXPIRE', record, ttl)
    return ttl
  end
  return had
end
local function incr(space, key, delta, ttl, perProcess, onlyIfPresent)
  local record = PREFIX .. space .. ':' .. key
  local had = redis.call('PTTL', record)
  local existed = had ~= -2
  if onlyIfPresent and not existed then return 0, 0, '', -2 end
  local total
  if perProcess then
    local field = 'i:' .. INSTANCE
    local mine
    if perProcess == 'own' then
      mine = delta
      redis.call('HSET', record, field, string.format('%.17g', delta))
    else
      mine = tonumber(redis.call('HINCRBYFLOAT', record, field, string.format('%.17g', delta)))
    end
    -- A part back at zero stays (a slot is taken again at once); rounding dust is wiped.
    if mine ~= 0 and math.abs(mine) < 1e-9 then redis.call('HSET', record, field, '0') end
    total = 0
    local all = redis.call('HGETALL', record)
    for f = 1, #all, 2 do
      if string.sub(all[f], 1, 2) == 'i:' then total = total + tonumber(all[f + 1]) end
    end
    if not existed then redis.call('SADD', PER_PROCESS, record) end
  else
    total = tonumber(redis.call('HGET', record, 'd') or '0') + delta
  end
  local json = string.format('%.17g', total)
  local v = write(record, json)
  local pttl = existed and had or expire(record, ttl, -1)
  publish(space, key, v, pttl, json)
  return 1, v, json, pttl
end

local at, count = 1, #ops
while at <= count do
  local kind, space, key = ops[at], ops[at + 1], ops[at + 2]
  if kind == 'c' then
    local json, expected, ttl = ops[at + 3], ops[at + 4], ops[at + 5]
    at = at + 6
    local record = PREFIX .. space .. ':' .. key
    local current = redis.call('HMGET', record, 'v', 'd')
    local seen = tonumber(current[1]) or 0
    if expected == -1 then expected = written[record] or -2 end
    if seen ~= expected then
      reply(0, seen, current[2] or '', redis.call('PTTL', record))
    else
      local v = write(record, json)
      local pttl = ttl > 0 and expire(record, ttl) or redis.call('PTTL', record)
      publish(space, key, v, pttl, json)
      reply(1, v, '', pttl)
    end
  elseif kind == 'i' then
    local done, v, json, pttl = incr(space, key, ops[at + 3], ops[at + 4], ops[at + 5], ops[at + 6])
    at = at + 7
    reply(done, v, json, pttl)
  elseif kind == 's' then
    local json, ttl = ops[at + 3], ops[at + 4]
    at = at + 5
    local record = PREFIX .. space .. ':' .. key
    redis.call('DEL', record)
    local v = write(record, json)
    local pttl = expire(record, ttl, -1)
    publish(space, key, v, pttl, json)
    out[replies + 1], out[replies + 2] = v, pttl
    replies = replies + 2
  elseif kind == 'd' then
    at = at + 3
    local record = PREFIX .. space .. ':' .. key
    version = version + 1
    written[record] = nil
    redis.call('DEL', record)
    publish(space, key, version, -2, '')
    replies = replies + 1
    out[replies] = version
  elseif kind == 'r' then
    -- A reserve names its space only: the amount is where the others have their key.
    local amount, refuseUsedUp, share, most, leaseOnly = key, ops[at + 3], ops[at + 4], ops[at + 5], ops[at + 6]
    local budgets = ops[at + 7]
    local first = at + 8
    at = first + budgets * 5
    -- Each budget's spent and held counters as read (a spent one created from its seed), for the reply.
    local seen = {}
    local refused = -1
    -- The least any budget has left after this amount: what a lease is sized from.
    local room = math.huge
    for b = 0, budgets - 1 do
      local o = first + b * 5
      local spent = PREFIX .. space .. ':' .. ops[o]
      local current = redis.call('HMGET', spent, 'v', 'd')
      local sv, sjson, spttl
      if current[2] then
        sv, sjson, spttl = tonumber(current[1]), current[2], redis.call('PTTL', spent)
      else
        sjson = ops[o + 3]
        sv = write(spent, sjson)
        spttl = expire(spent, ops[o + 4], -1)
        publish(space, ops[o], sv, spttl, sjson)
      end
      local held = PREFIX .. space .. ':' .. ops[o + 1]
      current = redis.call('HMGET', held, 'v', 'd')
      local hv, hjson, hpttl = 0, '', -2
      if current[1] then hv, hjson, hpttl = tonumber(current[1]), current[2], redis.call('PTTL', held) end
      local s = b * 6
      seen[s + 1], seen[s + 2], seen[s + 3], seen[s + 4], seen[s + 5], seen[s + 6] = sv, sjson, spttl, hv, hjson, hpttl
      local total, holds, limit = tonumber(sjson), tonumber(hjson) or 0, ops[o + 2]
      if refused < 0 and (total + holds + amount > limit + 1e-9 or (refuseUsedUp and total + math.max(0, holds) >= limit)) then
        refused = b
      end
      room = math.min(room, limit - total - holds - amount)
    end
    local leased = 0
    if refused < 0 and amount > 0 then
      leased = math.max(0, math.min(most, math.floor(room / (amount * share)))) * amount
      local hold = (leaseOnly and 0 or amount) + leased
      for b = 0, budgets - 1 do
        local o, s = first + b * 5, b * 6
        if hold > 0 then
          local _, v, json, pttl = incr(space, ops[o + 1], hold, ops[o + 4], true, false)
          seen[s + 4], seen[s + 5], seen[s + 6] = v, json, pttl
        end
      end
    end
    out[replies + 1], out[replies + 2] = refused, leased
    replies = replies + 2
    for i = 1, budgets * 6 do out[replies + i] = seen[i] end
    replies = replies + budgets * 6
  else
    return redis.error_reply('unknown operation ' .. tostring(kind))
  end
end
if changed > 0 then
  redis.call('SET', VERSION, version)
  redis.call('PUBLISH', CHANNEL, INSTANCE .. '\\n' .. table.concat(changes, '\\n'))
end
return cjson.encode(out)
`;

/**
 * Drops the parts of per-process counters whose instance stopped renewing its liveness key (it died),
 * and publishes the counters that changed. KEYS[1]: the set of per-process counters; ARGV[1]: the
 * liveness key prefix; ARGV[2]: the channel; ARGV[3]: the namespace prefix of record keys. Returns how
 * many counters changed.
 */
export const SWEEP = `
local changed = 0
for _, record in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', record) == 0 then
    redis.call('SREM', KEYS[1], record)
  else
    local all = redis.call('HGETALL', record)
    local total, dropped = 0, false
    for i = 1, #all, 2 do
      local field = all[i]
      if string.sub(field, 1, 2) == 'i:' then
        if redis.call('EXISTS', ARGV[1] .. string.sub(field, 3)) == 0 then
          redis.call('HDEL', record, field)
          dropped = true
        else
          total = total + tonumber(all[i + 1])
        end
      end
    end
    if dropped then
      local v = redis.call('INCR', KEYS[2])
      local json = string.format('%.17g', total)
      redis.call('HSET', record, 'v', v, 'd', json)
      local rest = string.sub(record, #ARGV[3] + 1)
      local colon = string.find(rest, ':', 1, true)
      local header = cjson.encode({string.sub(rest, 1, colon - 1), string.sub(rest, colon + 1)})
      -- No origin (the first line is empty): every instance takes it, the sweeping one too.
      redis.call('PUBLISH', ARGV[2], '\\n' .. v .. ' ' .. redis.call('PTTL', record) .. ' ' .. header .. '\\n' .. json)
      changed = changed + 1
    end
  end
end
return changed
`;
