import type { Challenge } from "../guard/challenges.js";

/**
 * The page a browser gets instead of a 403 JSON body: it solves the challenge with WebCrypto (SHA-256 of
 * seed + nonce, counting nonces up from 0), posts the nonce to /v1/challenge/verify, which sets the
 * tollgate_pass cookie, and reloads. No external scripts; the challenge is embedded as JSON.
 */
export function challengePage(challenge: Challenge): string {
  const data = JSON.stringify(challenge).replaceAll("<", "\\u003c");
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Checking your browser</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head>
<body>
<h1>One moment</h1>
<p id="status">Traffic is high. Your browser is doing a short computation to show it is not a bot&hellip;</p>
<noscript><p>This check needs JavaScript.</p></noscript>
<script>
const challenge = ${data};
function zeroBits(bytes) {
  let bits = 0;
  for (const b of bytes) { if (b === 0) { bits += 8; continue; } return bits + Math.clz32(b) - 24; }
  return bits;
}
async function solve() {
  const started = performance.now();
  const encoder = new TextEncoder();
  for (let nonce = 0; ; nonce++) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(challenge.seed + nonce)));
    if (zeroBits(digest) >= challenge.difficulty) return { nonce: String(nonce), ms: performance.now() - started };
  }
}
solve().then(async ({ nonce, ms }) => {
  const res = await fetch("/v1/challenge/verify", {
    method: "POST",
    headers: { "content-type": "application/json" },
    credentials: "same-origin",
    body: JSON.stringify({ id: challenge.id, nonce, solve_ms: Math.round(ms) }),
  });
  if (res.ok) location.reload();
  else document.getElementById("status").textContent = "Verification failed; reload the page to try again.";
});
</script>
</body>
</html>
`;
}
