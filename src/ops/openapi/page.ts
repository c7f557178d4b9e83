/**
 * /api/docs: a self-contained page (no CDN: obmen often runs where there is no internet) that
 * fetches the OpenAPI document and lists every operation with its access and parameters.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>obmen API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#222}
h1{font-size:1.4rem}.op{border:1px solid #ddd;border-radius:6px;margin:.4rem 0;padding:.5rem .8rem}
.m{display:inline-block;min-width:4.2rem;font-weight:700;font-family:monospace}
.get{color:#0a6}.post{color:#06c}.put{color:#a60}.delete{color:#c00}
code{font-family:monospace}.role{float:right;color:#666;font-size:12px}.sum{color:#444;margin-top:.2rem}
</style></head><body>
<h1>obmen API</h1><p id="info">Loading <a href="/api/docs/openapi.json">openapi.json</a>…</p><div id="ops"></div>
<script>
fetch('/api/docs/openapi.json').then(function(r){return r.json()}).then(function(doc){
  document.getElementById('info').innerHTML='';
  var info=document.getElementById('info');
  info.textContent=doc.info.description+' Version '+doc.info.version+'. ';
  var a=document.createElement('a');a.href='/api/docs/openapi.json';a.textContent='openapi.json';info.appendChild(a);
  var ops=document.getElementById('ops');
  Object.keys(doc.paths).sort().forEach(function(path){
    Object.keys(doc.paths[path]).forEach(function(method){
      var op=doc.paths[path][method];
      var div=document.createElement('div');div.className='op';
      var m=document.createElement('span');m.className='m '+method;m.textContent=method.toUpperCase();
      var c=document.createElement('code');c.textContent=path;
      var role=document.createElement('span');role.className='role';role.textContent=op['x-obmen-access'];
      var s=document.createElement('div');s.className='sum';s.textContent=op.summary;
      div.appendChild(role);div.appendChild(m);div.appendChild(c);div.appendChild(s);
      ops.appendChild(div);
    });
  });
});
</script></body></html>`;
