/// The dashboard's HTML page and icon. The page holds the views' fixed controls only; the
/// script (``DashboardScript``) fills them from the API. No inline script or style: the content
/// security policy forbids both.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="uk">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Кращі практики місцевого самоврядування — панель даних</title>
        <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
        <link rel="stylesheet" href="/assets/dashboard.css">
        <script src="/assets/dashboard.js" defer></script>
        </head>
        <body>
        <header class="top">
          <div class="brand">
            <h1>Кращі практики місцевого самоврядування</h1>
            <p class="subtitle">Панель даних реєстру: конкурси, регіони, каталог практик, мережа, семінари</p>
          </div>
          <form class="as-of" id="as-of-form">
            <label for="as-of">Стан на</label>
            <input type="date" id="as-of" name="at" min="2000-01-01" max="2100-12-31">
            <button type="button" id="as-of-now">Зараз</button>
            <span id="live" class="live live-connecting" role="status" aria-live="polite">з’єднання…</span>
          </form>
        </header>
        <nav class="tabs" aria-label="Розділи">
          <a href="#leaderboard" data-view="leaderboard">Рейтинг</a>
          <a href="#regions" data-view="regions">Регіони</a>
          <a href="#catalog" data-view="catalog">Каталог практик</a>
          <a href="#network" data-view="network">Мережа</a>
          <a href="#seminars" data-view="seminars">Семінари</a>
          <a href="#history" data-view="history">Історія змін</a>
        </nav>
        <main>
          <div id="error" class="error" role="alert" hidden></div>
          <p id="newer" class="notice" hidden>Після обраної дати з’явилися нові дані. <button type="button" id="newer-now">Показати поточний стан</button></p>

          <section id="view-leaderboard" class="view" hidden>
            <h2>Рейтинг конкурсу</h2>
            <form class="filters" id="leaderboard-form">
              <label>Конкурс <select id="lb-competition" name="competition"></select></label>
              <label>Тема <select id="lb-theme" name="theme"></select></label>
              <label>Тип ради
                <select id="lb-kind" name="kind">
                  <option value="">усі</option>
                  <option value="urban">міські</option>
                  <option value="settlement">селищні</option>
                  <option value="rural">сільські</option>
                </select>
              </label>
            </form>
            <p class="downloads" data-downloads="leaderboard"></p>
            <div id="lb-boards" class="content"></div>
          </section>

          <section id="view-regions" class="view" hidden>
            <h2>Регіональна статистика</h2>
            <form class="filters" id="regions-form">
              <label>Показник <select id="rg-figure" name="figure"></select></label>
            </form>
            <p class="downloads" data-downloads="regions"></p>
            <div id="rg-content" class="content regions">
              <figure class="map">
                <div id="rg-map" class="tile-map" role="img" aria-label="Картограма областей України"></div>
                <figcaption id="rg-legend" class="legend"></figcaption>
              </figure>
              <div class="table-wrap"><table id="rg-table"></table></div>
            </div>
          </section>

          <section id="view-catalog" class="view" hidden>
            <h2>Каталог практик</h2>
            <form class="filters" id="catalog-form" role="search">
              <label class="grow">Пошук <input type="search" id="ct-q" name="q" placeholder="наприклад: громадський бюджет"></label>
              <button type="submit">Шукати</button>
              <label>Сфера <select id="ct-sector" name="sector"></select></label>
              <label>Напрям <select id="ct-direction" name="direction"></select></label>
              <label>Форма участі <select id="ct-form" name="form"></select></label>
              <label>Область <select id="ct-oblast" name="oblast"></select></label>
              <label>Громада <select id="ct-community" name="community"></select></label>
            </form>
            <p class="downloads" data-downloads="catalog"></p>
            <div id="ct-results" class="content"></div>
          </section>

          <section id="view-network" class="view" hidden>
            <h2>Реєстр мережі громад</h2>
            <p class="downloads" data-downloads="network"></p>
            <div id="nw-content" class="content"></div>
          </section>

          <section id="view-seminars" class="view" hidden>
            <h2>Семінари</h2>
            <p class="downloads" data-downloads="seminars"></p>
            <div id="sm-content" class="content"></div>
          </section>

          <section id="view-history" class="view" hidden>
            <h2>Історія змін потоку</h2>
            <form class="filters" id="history-form">
              <label class="grow">Потік <input type="text" id="hs-stream" name="stream" placeholder="наприклад: submission-bp-2020-00007" spellcheck="false"></label>
              <button type="submit">Показати</button>
            </form>
            <div id="hs-content" class="content"></div>
          </section>
        </main>
        <footer class="bottom">
          <p id="as-of-note"></p>
          <p>Відкриті дані: кожна таблиця доступна у форматах CSV та JSON за тими самими адресами API.</p>
        </footer>
        </body>
        </html>

        """#

    /// The page's icon (three tiles in blue and yellow), linked from the page so that the browser
    /// does not ask for a /favicon.ico that is not there (a 404 in its console).
    static let favicon = #"""
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0057b7"/><rect x="6" y="17" width="20" height="9" rx="2" fill="#ffd700"/><rect x="6" y="6" width="9" height="9" rx="2" fill="#fff"/><rect x="17" y="6" width="9" height="9" rx="2" fill="#fff"/></svg>

        """#
}
