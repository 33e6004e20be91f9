/**
 * The Lua scripts behind RedisState. Each runs atomically in Redis: one script is one step no other
 * instance can interleave with, which is what makes a shared rate window or budget exact.
 *
 * A record is a hash: `v` (its version, from one counter for the whole namespace, so versions order
 * every write), `d` (its JSON), and for counters kept per process one `i:<instance>` field per
 * instance holding that instance's part (`d` is then their sum). Every write publishes
 * `<version> <pttl> <["space","key"]>\n<json>` on the namespace's channel; a pttl of -2 means deleted.
 *
 * KEYS[1] is the record, KEYS[2] the version counter; ARGV ends with the channel and the record's
 * `["space","key"]` header (JSON, made by the client, so no key text needs escaping here).
 */

const PUBLISH = `
local function publish(channel, header, version, json)
  redis.call('PUBLISH', channel, version .. ' ' .. redis.call('PTTL', KEYS[1]) .. ' ' .. header .. '\\n' .. json)
end
local function number(n)
  return string.format('%.17g', n)
end
`;

/**
 * Compare and set: writes ARGV[1] (JSON) if the record's version is still ARGV[2] ('' = absent).
 * Returns {1, version, '', pttl} when written; {0, version, json, pttl} (the record as it is) when not.
 * ARGV[3]: ttl ms (0 = keep the record's expiry).
 */
export const COMPARE_AND_SET = `${PUBLISH}
local current = redis.call('HMGET', KEYS[1], 'v', 'd')
local version = current[1] or ''
if version ~= ARGV[2] then
  return {0, version, current[2] or '', redis.call('PTTL', KEYS[1])}
end
local v = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[1])
if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
publish(ARGV[4], ARGV[5], v, ARGV[1])
return {1, tostring(v), '', redis.call('PTTL', KEYS[1])}
`;

/**
 * Adds ARGV[1] to a numeric record. ARGV[2]: ttl ms applied when the record is created. ARGV[3]: the
 * instance whose part it is ('' = a plain counter). ARGV[4]: '1' to add only to a record that exists
 * (replaying what was counted while Redis was away: a counter Redis no longer has starts from its
 * owner's history instead). KEYS[3]: the set of per-process counters, for the sweep.
 * Returns {1, version, json, pttl}, or {0} when it did nothing.
 */
export const INCREMENT = `${PUBLISH}
local existed = redis.call('EXISTS', KEYS[1]) == 1
if ARGV[4] == '1' and not existed then return {0} end
local total
if ARGV[3] ~= '' then
  local field = 'i:' .. ARGV[3]
  local mine = tonumber(redis.call('HINCRBYFLOAT', KEYS[1], field, ARGV[1]))
  if math.abs(mine) < 1e-9 then redis.call('HDEL', KEYS[1], field) end
  total = 0
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'i:' then total = total + tonumber(all[i + 1]) end
  end
  redis.call('SADD', KEYS[3], KEYS[1])
else
  total = tonumber(redis.call('HGET', KEYS[1], 'd') or '0') + tonumber(ARGV[1])
end
local v = redis.call('INCR', KEYS[2])
local json = number(total)
redis.call('HSET', KEYS[1], 'v', v, 'd', json)
if not existed and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
publish(ARGV[5], ARGV[6], v, json)
return {1, tostring(v), json, redis.call('PTTL', KEYS[1])}
`;

/** Replaces a record by ARGV[1] (JSON) with expiry ARGV[2] ms (0 = none). Returns {version, pttl}. */
export const SET = `${PUBLISH}
local v = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[1])
if tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
publish(ARGV[3], ARGV[4], v, ARGV[1])
return {tostring(v), redis.call('PTTL', KEYS[1])}
`;

/** Deletes a record; the deletion is published even when Redis had none (a copy may still hold it). */
export const DELETE = `
local v = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('PUBLISH', ARGV[1], v .. ' -2 ' .. ARGV[2] .. '\\n')
return tostring(v)
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
      redis.call('PUBLISH', ARGV[2], v .. ' ' .. redis.call('PTTL', record) .. ' ' .. header .. '\\n' .. json)
      changed = changed + 1
    end
  end
end
return changed
`;

/**
 * A budget hold (RoutingState.reserve): checks that ARGV[1] fits in every budget and holds it on each,
 * as one step, so no other instance can check in between. KEYS[1] is the version counter, KEYS[2] the
 * set of per-process counters, then each budget's spent and held counters in pairs. ARGV[2]: this
 * instance; ARGV[3]: the channel; then five per budget: limit, seed (the spent counter's start when
 * Redis has none), ttl ms for a counter created here, the spent and the held counters' headers.
 * Returns the index (0-based) of the first budget the amount would pass, or -1 when held; then each
 * budget counter as it now is: version, json, pttl ('' , '', -2 when absent).
 */
export const RESERVE = `
local amount = tonumber(ARGV[1])
local budgets = (#KEYS - 2) / 2
local function publish(key, header, version, json)
  redis.call('PUBLISH', ARGV[3], version .. ' ' .. redis.call('PTTL', key) .. ' ' .. header .. '\\n' .. json)
end
local function arg(budget, field)
  return ARGV[3 + (budget - 1) * 5 + field]
end
for b = 1, budgets do
  local spent = KEYS[1 + b * 2]
  if redis.call('EXISTS', spent) == 0 then
    local v = redis.call('INCR', KEYS[1])
    redis.call('HSET', spent, 'v', v, 'd', arg(b, 2))
    if tonumber(arg(b, 3)) > 0 then redis.call('PEXPIRE', spent, arg(b, 3)) end
    publish(spent, arg(b, 4), v, arg(b, 2))
  end
end
local refused = -1
for b = 1, budgets do
  local spent = tonumber(redis.call('HGET', KEYS[1 + b * 2], 'd'))
  local held = tonumber(redis.call('HGET', KEYS[2 + b * 2], 'd') or '0')
  if spent + held + amount > tonumber(arg(b, 1)) + 1e-9 then
    refused = b - 1
    break
  end
end
if refused < 0 then
  local field = 'i:' .. ARGV[2]
  for b = 1, budgets do
    local held = KEYS[2 + b * 2]
    local existed = redis.call('EXISTS', held) == 1
    redis.call('HINCRBYFLOAT', held, field, ARGV[1])
    local total = 0
    local all = redis.call('HGETALL', held)
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 2) == 'i:' then total = total + tonumber(all[i + 1]) end
    end
    redis.call('SADD', KEYS[2], held)
    local v = redis.call('INCR', KEYS[1])
    local json = string.format('%.17g', total)
    redis.call('HSET', held, 'v', v, 'd', json)
    if not existed and tonumber(arg(b, 3)) > 0 then redis.call('PEXPIRE', held, arg(b, 3)) end
    publish(held, arg(b, 5), v, json)
  end
end
local out = {refused}
for k = 3, #KEYS do
  local record = redis.call('HMGET', KEYS[k], 'v', 'd')
  table.insert(out, record[1] or '')
  table.insert(out, record[2] or '')
  table.insert(out, redis.call('PTTL', KEYS[k]))
end
return out
`;
