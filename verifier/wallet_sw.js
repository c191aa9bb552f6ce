/* The wallet's service worker (served as <root>/wallet/sw.js, its scope the wallet page alone).
 *
 * It keeps the wallet's shell, the page and its static files, in a cache named by VERSION, a hash
 * of those files that the server writes in: any change to them changes this script, so the browser
 * installs the new worker, which fills a new cache and drops the old ones. Shell files are answered
 * from the cache (the wallet opens offline and shows the certificates IndexedDB holds); everything
 * else, the verification request above all, goes to the network untouched.
 */
"use strict";

const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const PREFIX = "certledger-wallet-";
const CACHE = PREFIX + VERSION;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE)
      // cache: "reload": the files as the server has them now, not an older copy in the HTTP cache
      .then((cache) => cache.addAll(SHELL.map((path) => new Request(path, { cache: "reload" }))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim())
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(
    caches.open(CACHE)
      .then((cache) => cache.match(url.pathname))
      .then((hit) => hit || fetch(request))
  );
});
