/** How many keys' clients an adapter keeps; a key pool rarely holds more, and a miss only costs a build. */
const MAX_CLIENTS = 16;

/**
 * One SDK client per API key, built on first use and reused by every attempt after: building a client
 * (options, headers, its fetch plumbing) cost more CPU than the request it then made. Per-attempt
 * things (signal, timeouts) go in each request's options instead. Bounded, oldest out first, so a
 * rotating key pool cannot grow it without end. Adapters build a promise of the client, importing their
 * SDK in it: a process that never calls a vendor never loads its SDK.
 */
export function clientCache<Client>(
  build: (apiKey: string | undefined) => Client,
): (apiKey: string | undefined) => Client {
  const clients = new Map<string | undefined, Client>();
  return (apiKey) => {
    let client = clients.get(apiKey);
    if (client === undefined) {
      if (clients.size >= MAX_CLIENTS) clients.delete(clients.keys().next().value);
      client = build(apiKey);
      clients.set(apiKey, client);
    }
    return client;
  };
}
