/**
 * The console's two static assets, served by the edge itself (no CDN, no build step): one stylesheet and one small
 * script. Pages work without the script; it only refreshes live regions (health) in place and asks before a
 * destructive action. Both are immutable per process: their URLs carry a hash of their content.
 */
import { createHash } from 'node:crypto';

const CSS = `
:root{--fg:#1b1f24;--muted:#57606a;--bg:#f6f8fa;--card:#fff;--line:#d0d7de;--accent:#0a55c4;--ok:#116329;--okbg:#dafbe1;--bad:#a40e26;--badbg:#ffebe9;--warn:#7d4e00;--warnbg:#fff8c5;--focus:#f5a623}
*{box-sizing:border-box}
html{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Ubuntu,sans-serif;color:var(--fg);background:var(--bg)}
body{margin:0;display:grid;grid-template-columns:210px 1fr;grid-template-rows:auto 1fr;min-height:100vh}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:8px 12px;z-index:10}
.skip:focus{left:8px;top:8px}
header.top{grid-column:1/3;display:flex;align-items:center;gap:16px;padding:10px 20px;background:#24292f;color:#fff}
header.top .brand{font-weight:700;font-size:1.05rem;color:#fff;text-decoration:none}
header.top .who{margin-left:auto;display:flex;gap:12px;align-items:center;font-size:.9rem}
header.top form{margin:0}
header.top button{background:transparent;color:#fff;border:1px solid #8c959f;padding:4px 10px}
nav.side{background:#fff;border-right:1px solid var(--line);padding:12px 0}
nav.side ul{list-style:none;margin:0;padding:0}
nav.side a{display:block;padding:7px 20px;color:var(--fg);text-decoration:none}
nav.side a[aria-current=page]{background:#ddf4ff;border-left:4px solid var(--accent);padding-left:16px;font-weight:600}
nav.side a:hover{background:var(--bg)}
main{padding:20px 28px;max-width:1200px;min-width:0}
h1{font-size:1.5rem;margin:0 0 16px}
h2{font-size:1.15rem;margin:24px 0 10px}
h3{font-size:1rem;margin:16px 0 8px}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.card h3{margin-top:0}
.card.down{border:2px solid #cf222e}
.card.risk{border:2px solid #d4a72c}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);border-radius:6px;font-size:.92rem}
caption{text-align:left;font-weight:600;padding:6px 0;caption-side:top}
th,td{text-align:left;padding:7px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f0f3f6;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.table-wrap{overflow-x:auto}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.82rem;font-weight:600;border:1px solid transparent;white-space:nowrap}
.badge.ok{background:var(--okbg);color:var(--ok);border-color:#4ac26b}
.badge.bad{background:var(--badbg);color:var(--bad);border-color:#ff8182}
.badge.warn{background:var(--warnbg);color:var(--warn);border-color:#d4a72c}
.badge.off{background:#eaeef2;color:var(--muted)}
.alert{padding:10px 14px;border-radius:6px;margin:0 0 14px;border:1px solid}
.alert.bad{background:var(--badbg);border-color:#ff8182;color:var(--bad)}
.alert.ok{background:var(--okbg);border-color:#4ac26b;color:var(--ok)}
.alert.warn{background:var(--warnbg);border-color:#d4a72c;color:var(--warn)}
.muted{color:var(--muted)}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.86em}
form.inline{display:inline}
form.grid{display:grid;grid-template-columns:minmax(140px,max-content) minmax(200px,420px);gap:8px 14px;align-items:center;background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px;margin:0 0 16px}
form.grid .actions{grid-column:2}
form.row{display:flex;flex-wrap:wrap;gap:10px;align-items:end;background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin:0 0 16px}
form.row label{display:flex;flex-direction:column;font-size:.85rem;gap:3px}
label{font-weight:600}
input,select,button{font:inherit}
input[type=text],input[type=password],input[type=url],input[type=number],input[type=datetime-local],select{padding:6px 8px;border:1px solid #8c959f;border-radius:6px;background:#fff;min-width:0;width:100%}
form.row input,form.row select,td select,td input{width:auto}
td label{font-weight:400}
label select,label input{font-weight:400}
td code{white-space:nowrap}
td code.wrap{white-space:normal;word-break:break-all}
time{white-space:nowrap}
.card h2{margin-top:0}
.table-wrap+form.row{margin-top:8px}
button,.button{display:inline-block;padding:6px 14px;border-radius:6px;border:1px solid #1f6feb;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;font-weight:600}
button.secondary,.button.secondary{background:#fff;color:var(--accent)}
button.danger{background:#fff;color:var(--bad);border-color:var(--bad)}
button.small{padding:2px 8px;font-size:.85rem}
.toolbar{display:flex;gap:10px;align-items:center;margin:0 0 14px;flex-wrap:wrap}
.stat{font-size:1.6rem;font-weight:700}
ul.plain{margin:4px 0;padding-left:18px}
figure{margin:0 0 16px;background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px}
figcaption{font-weight:600;margin-bottom:6px}
.legend{display:flex;gap:14px;font-size:.85rem;margin-top:6px;list-style:none;padding:0}
.legend span.sw{display:inline-block;width:12px;height:12px;margin-right:5px;vertical-align:-1px;border:1px solid #0003}
.signin{max-width:460px;margin:40px auto;display:block}
body.bare{display:block}
@media (max-width:760px){body{grid-template-columns:1fr}nav.side{grid-column:1}header.top{grid-column:1}form.grid{grid-template-columns:1fr}form.grid .actions{grid-column:1}}
`;

const JS = `
(function(){
  'use strict';
  // Live regions: refetch this page every few seconds and swap each [data-live] region in place.
  var live = document.querySelectorAll('[data-live]');
  if (live.length) {
    var busy = false;
    setInterval(function(){
      if (busy || document.hidden) return;
      busy = true;
      fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } }).then(function(r){
        if (!r.ok || r.redirected) return null;
        return r.text();
      }).then(function(html){
        if (!html) return;
        var doc = new DOMParser().parseFromString(html, 'text/html');
        live.forEach(function(el){
          var next = doc.getElementById(el.id);
          if (next && next.innerHTML !== el.innerHTML && !el.contains(document.activeElement)) el.innerHTML = next.innerHTML;
        });
      }).catch(function(){}).then(function(){ busy = false; });
    }, 2000);
  }
  // Destructive buttons ask first.
  document.addEventListener('submit', function(ev){
    var msg = ev.submitter && ev.submitter.getAttribute('data-confirm') || ev.target.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) ev.preventDefault();
  });
})();
`;

function asset(body: string, type: string): { body: Buffer; type: string; hash: string } {
  const buf = Buffer.from(body.trim() + '\n');
  return { body: buf, type, hash: createHash('sha256').update(buf).digest('base64url').slice(0, 12) };
}

const css = asset(CSS, 'text/css; charset=utf-8');
const js = asset(JS, 'text/javascript; charset=utf-8');

export const ASSETS = new Map([
  [`/assets/console-${css.hash}.css`, css],
  [`/assets/console-${js.hash}.js`, js],
]);
export const CSS_URL = `/assets/console-${css.hash}.css`;
export const JS_URL = `/assets/console-${js.hash}.js`;
