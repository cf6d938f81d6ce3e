"""The report's HTML: one self-contained page (inline CSS, images as data URIs, no scripts or external assets)."""

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{ name }} version {{ version }}: sftops report</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
nav a { margin-right: 1em; }
.facts { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; margin: 0.8em 0; }
.facts dt { font-weight: 600; } .facts dd { margin: 0; }
.figures img { max-width: 100%; margin: 0.5em 1em 0.5em 0; vertical-align: top; border: 1px solid #eee; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
caption { text-align: left; font-style: italic; padding-bottom: 0.3em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.text { max-width: 40em; overflow-wrap: anywhere; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: 0.5em 0.8em; }
.meta { color: #666; font-size: 0.9em; }
</style>
</head>
<body>
<h1>{{ name }} version {{ version }}</h1>
<p class="meta">{{ task }} &middot; aliases: {{ aliases or "none" }} &middot; run {{ run_id or "-" }}
&middot; evaluate run {{ evaluate_run_id or "-" }} &middot; data {{ data_hash or "-" }} &middot; generated {{ generated }}</p>
<nav>{% for s in sections %}<a href="#{{ s.id }}">{{ s.title }}</a>{% endfor %}</nav>
{% for s in sections %}
<section id="{{ s.id }}">
<h2>{{ s.title }}</h2>
{% if s.facts %}<dl class="facts">{% for k, v in s.facts.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}</dl>{% endif %}
{% if s.figures %}<div class="figures">{% for uri in s.figures %}<img src="{{ uri }}" alt="{{ s.title }}">{% endfor %}</div>{% endif %}
{% for t in s.tables %}
<table><caption>{{ t.caption }}</caption>
<thead><tr>{% for c in t.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.rows %}<tr>{% for cell in row %}
<td{% if loop.first and cell|length > 30 %} class="text"{% endif %}>{{ cell }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table>
{% endfor %}
{% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}
</section>
{% endfor %}
</body>
</html>
"""
