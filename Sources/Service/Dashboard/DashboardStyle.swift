/// The dashboard's style sheet: system fonts only (no web fonts to fetch), readable tables, the
/// tile map's grid. Colours of the map tiles are set by the script through the CSSOM, which the
/// content security policy allows (unlike inline `style` attributes).
enum DashboardStyle {
    static let css = #"""
        :root {
          --blue: #0057b7; --blue-dark: #003f86; --yellow: #ffd700; --ink: #1d2330; --muted: #5b6475;
          --line: #d9dee8; --paper: #ffffff; --back: #f3f5f9; --bad: #a4161a; --bad-back: #fdecec;
          --good: #1b7f3b;
          font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
          color: var(--ink); background: var(--back);
        }
        * { box-sizing: border-box; }
        body { margin: 0; font-size: 15px; line-height: 1.4; }
        h1 { font-size: 1.35rem; margin: 0; }
        h2 { font-size: 1.2rem; margin: 0 0 .75rem; }
        h3 { font-size: 1.05rem; margin: 1.25rem 0 .4rem; }
        a { color: var(--blue); }
        .top { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between;
          padding: .9rem 1.5rem; background: var(--blue); color: #fff; border-bottom: 4px solid var(--yellow); }
        .subtitle { margin: .15rem 0 0; opacity: .85; font-size: .9rem; }
        .as-of { display: flex; gap: .5rem; align-items: center; }
        .as-of label { font-weight: 600; }
        .as-of input, .as-of button { font: inherit; padding: .3rem .5rem; border-radius: 4px; border: 1px solid #fff; }
        .as-of button { background: var(--yellow); color: var(--ink); cursor: pointer; border-color: var(--yellow); }
        .live { font-size: .85rem; padding: .2rem .55rem; border-radius: 999px; background: rgba(255,255,255,.15); }
        .live::before { content: "●"; margin-right: .35rem; }
        .live-on::before { color: #7dff9b; }
        .live-past::before { color: var(--yellow); }
        .live-off::before, .live-connecting::before { color: #ffb3b3; }
        .tabs { display: flex; flex-wrap: wrap; gap: .25rem; padding: 0 1.5rem; background: var(--paper);
          border-bottom: 1px solid var(--line); }
        .tabs a { padding: .7rem .9rem; text-decoration: none; color: var(--muted); border-bottom: 3px solid transparent; }
        .tabs a[aria-current="page"] { color: var(--ink); border-bottom-color: var(--blue); font-weight: 600; }
        main { padding: 1.25rem 1.5rem; max-width: 1400px; }
        .view { background: var(--paper); border: 1px solid var(--line); border-radius: 8px; padding: 1.1rem 1.25rem; }
        .filters { display: flex; flex-wrap: wrap; gap: .75rem 1rem; align-items: end; margin-bottom: .75rem; }
        .filters label { display: flex; flex-direction: column; font-size: .85rem; color: var(--muted); gap: .2rem; }
        .filters label.grow { flex: 1 1 18rem; }
        .filters select, .filters input, .filters button { font: inherit; color: var(--ink); padding: .35rem .5rem;
          border: 1px solid var(--line); border-radius: 4px; background: #fff; min-width: 9rem; }
        .filters button { background: var(--blue); color: #fff; border-color: var(--blue); cursor: pointer; min-width: 0; }
        .downloads { margin: 0 0 .75rem; font-size: .85rem; color: var(--muted); }
        .downloads a { margin-left: .5rem; padding: .15rem .5rem; border: 1px solid var(--line); border-radius: 4px;
          text-decoration: none; }
        .error { background: var(--bad-back); color: var(--bad); border: 1px solid var(--bad); border-radius: 6px;
          padding: .75rem 1rem; margin-bottom: 1rem; }
        .error strong { display: block; }
        .error code { color: var(--ink); }
        .notice { background: #fff8d6; border: 1px solid #e6c200; border-radius: 6px; padding: .5rem 1rem; }
        .notice button { font: inherit; margin-left: .5rem; cursor: pointer; }
        .as-of-line { color: var(--muted); font-size: .85rem; margin: .25rem 0 .5rem; }
        .empty { color: var(--muted); font-style: italic; }
        .table-wrap { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: .9rem; }
        th, td { text-align: left; padding: .4rem .55rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: var(--back); font-weight: 600; white-space: nowrap; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        th.chosen, td.chosen { background: #e8f0fb; }
        tr.provisional td { color: var(--muted); }
        tr.winner td { background: #fffbe6; }
        .badge { display: inline-block; font-size: .75rem; padding: .05rem .45rem; border-radius: 999px;
          background: var(--back); border: 1px solid var(--line); color: var(--muted); white-space: nowrap; }
        .badge-provisional { background: #fff3cd; border-color: #e6c200; color: #6b5800; }
        .badge-final { background: #e3f4e8; border-color: #9fd3ae; color: var(--good); }
        .badge-place { background: var(--yellow); border-color: #d4b300; color: var(--ink); font-weight: 600; }
        .award { display: block; font-size: .8rem; color: var(--muted); }
        .board-note { margin: 0 0 .4rem; color: var(--muted); font-size: .85rem; }
        .regions { display: grid; grid-template-columns: minmax(420px, 560px) 1fr; gap: 1.25rem; align-items: start; }
        @media (max-width: 1100px) { .regions { grid-template-columns: 1fr; } }
        .map { margin: 0; }
        .tile-map { display: grid; grid-template-columns: repeat(9, 1fr); grid-template-rows: repeat(5, auto); gap: 4px; }
        .tile { aspect-ratio: 1 / 1; border-radius: 5px; padding: 3px; display: flex; flex-direction: column;
          justify-content: space-between; font-size: .7rem; line-height: 1.1; border: 1px solid rgba(0,0,0,.08);
          color: var(--ink); overflow: hidden; }
        .tile.dark { color: #fff; }
        .tile .tile-name { font-weight: 600; }
        .tile .tile-value { font-variant-numeric: tabular-nums; font-size: .75rem; }
        .tile.none { background: repeating-linear-gradient(45deg, #f6f7f9, #f6f7f9 4px, #eceff3 4px, #eceff3 8px); color: var(--muted); }
        .regions th { white-space: normal; }
        .legend { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem; margin-top: .6rem; font-size: .8rem; color: var(--muted); }
        .legend .scale { flex: 0 0 10rem; height: .7rem; border-radius: 3px;
          background: linear-gradient(90deg, rgb(232, 240, 251), rgb(0, 63, 134)); }
        .results { list-style: none; padding: 0; margin: 0; }
        .results li { padding: .7rem 0; border-bottom: 1px solid var(--line); }
        .results h3 { margin: 0 0 .2rem; }
        .meta { color: var(--muted); font-size: .85rem; }
        .snippet { margin: .3rem 0 0; }
        mark { background: #ffe97a; padding: 0 .1rem; border-radius: 2px; }
        .tags { margin-top: .3rem; display: flex; flex-wrap: wrap; gap: .3rem; }
        .history { list-style: none; padding: 0; margin: 0; }
        .history li { padding: .55rem 0; border-bottom: 1px solid var(--line); }
        .history .when { color: var(--muted); font-size: .85rem; }
        .history .what { font-weight: 600; }
        .history .changes { margin: .25rem 0 0; font-size: .85rem; }
        .history .changes dt { display: inline; color: var(--muted); }
        .history .changes dd { display: inline; margin: 0 .75rem 0 .25rem; }
        .bottom { padding: 0 1.5rem 1.5rem; color: var(--muted); font-size: .8rem; }

        """#
}
