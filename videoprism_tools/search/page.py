"""The search page: one static HTML document; its script calls `/api/search` and renders the hits."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>VideoPrism search</title>
<style>
  body { font-family: sans-serif; margin: 2rem; max-width: 60rem; }
  form { display: flex; gap: .5rem; }
  #query { flex: 1; font-size: 1.1rem; padding: .4rem; }
  ol { padding: 0; list-style: none; }
  li.result { display: flex; gap: 1rem; align-items: center; margin: .6rem 0; }
  li.result img { width: 160px; background: #ddd; min-height: 90px; }
  .score { font-family: monospace; }
  .id { font-weight: bold; }
</style>
</head>
<body>
<h1>VideoPrism search</h1>
<form id="search">
  <input id="query" name="q" type="search" placeholder="describe a video" autofocus>
  <button type="submit">Search</button>
</form>
<p id="status"></p>
<ol id="results"></ol>
<script>
function span(cls, text) { const s = document.createElement("span"); s.className = cls; s.textContent = text; return s; }
function seconds(v) { return v === null ? "" : v.toFixed(1) + " s"; }
document.getElementById("search").addEventListener("submit", async (event) => {
  event.preventDefault();
  const q = document.getElementById("query").value;
  const status = document.getElementById("status");
  const list = document.getElementById("results");
  status.textContent = "searching...";
  const response = await fetch("/api/search?k=10&q=" + encodeURIComponent(q));
  const body = await response.json();
  list.replaceChildren();
  if (!response.ok) { status.textContent = body.error.code + ": " + body.error.message; return; }
  status.textContent = body.hits.length + " results";
  body.hits.forEach((hit, rank) => {
    const li = document.createElement("li");
    li.className = "result";
    li.dataset.id = hit.id;
    li.dataset.rank = rank + 1;
    const img = document.createElement("img");
    img.alt = hit.id;
    if (hit.thumbnail) img.src = hit.thumbnail;
    const text = document.createElement("div");
    const where = hit.segment_start === null ? "" : seconds(hit.segment_start) + " - " + seconds(hit.segment_end);
    text.append(span("id", hit.id), document.createElement("br"), span("score", hit.score.toFixed(4)),
                " ", span("segment", where), document.createElement("br"), span("source", hit.source));
    li.append(img, text);
    list.append(li);
  });
  status.dataset.done = "1";
});
</script>
</body>
</html>
"""
