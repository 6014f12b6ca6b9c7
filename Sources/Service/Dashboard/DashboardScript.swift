/// The dashboard's script: plain JavaScript (no libraries, no build step), served as
/// `/assets/dashboard.js`. It renders each view from the JSON API with DOM calls only (the data
/// never goes through innerHTML), keeps the view and its parameters in the address, and follows
/// `/api/v1/live` to re-fetch the view whose read model moved.
enum DashboardScript {
    static let js = #"""
        // Hromada Ledger dashboard: plain JavaScript, no libraries. It reads the JSON API of the same
        // service, renders each view with DOM calls (never innerHTML with data), keeps its state in the
        // address (#view?param=value) and follows /api/v1/live to re-fetch the view whose read model moved.
        'use strict';

        (() => {
          // ---- Vocabulary: the codes of the API and their Ukrainian names. ----

          /** ISO 3166-2:UA code → [full name, tile label, column, row] on a 9 × 5 grid laid out roughly as the map. */
          const OBLASTS = {
            'UA-07': ['Волинська область', 'Вол', 1, 0],
            'UA-56': ['Рівненська область', 'Рів', 2, 0],
            'UA-18': ['Житомирська область', 'Жит', 3, 0],
            'UA-32': ['Київська область', 'Київщ', 4, 0],
            'UA-74': ['Чернігівська область', 'Чрг', 5, 0],
            'UA-59': ['Сумська область', 'Сум', 6, 0],
            'UA-46': ['Львівська область', 'Льв', 0, 1],
            'UA-61': ['Тернопільська область', 'Тер', 1, 1],
            'UA-68': ['Хмельницька область', 'Хм', 2, 1],
            'UA-05': ['Вінницька область', 'Він', 3, 1],
            'UA-30': ['місто Київ', 'Київ', 4, 1],
            'UA-71': ['Черкаська область', 'Чрк', 5, 1],
            'UA-53': ['Полтавська область', 'Пол', 6, 1],
            'UA-63': ['Харківська область', 'Хар', 7, 1],
            'UA-09': ['Луганська область', 'Луг', 8, 1],
            'UA-21': ['Закарпатська область', 'Зак', 0, 2],
            'UA-26': ['Івано-Франківська область', 'І-Ф', 1, 2],
            'UA-77': ['Чернівецька область', 'Чрв', 2, 2],
            'UA-51': ['Одеська область', 'Од', 3, 2],
            'UA-48': ['Миколаївська область', 'Мик', 4, 2],
            'UA-35': ['Кіровоградська область', 'Кір', 5, 2],
            'UA-12': ['Дніпропетровська область', 'Дніп', 6, 2],
            'UA-14': ['Донецька область', 'Дон', 7, 2],
            'UA-65': ['Херсонська область', 'Хер', 5, 3],
            'UA-23': ['Запорізька область', 'Зап', 6, 3],
            'UA-40': ['місто Севастополь', 'Сев', 4, 4],
            'UA-43': ['Автономна Республіка Крим', 'Крим', 5, 4],
          };
          const SECTORS = {
            'education': 'Освіта', 'housing-utilities': 'Житлово-комунальне господарство', 'environment': 'Довкілля',
            'cultural-heritage': 'Культурна спадщина', 'youth-sports': 'Молодь і спорт', 'small-business': 'Малий бізнес',
            'governance': 'Врядування',
          };
          const DIRECTIONS = {
            'budget-process': 'Бюджетний процес', 'administrative-services': 'Адміністративні послуги',
            'strategic-planning': 'Стратегічне планування',
          };
          const FORMS = {
            'informing': 'Інформування', 'consultation': 'Консультації', 'dialogue': 'Діалог', 'active-involvement': 'Активна участь',
          };
          const KINDS = { 'urban': 'міська', 'settlement': 'селищна', 'rural': 'сільська' };
          const EVENT_TYPES = {
            CompetitionAnnounced: 'Оголошено конкурс', SubmissionDeadlineExtended: 'Продовжено строк подання заявок',
            WinnersAnnounced: 'Оголошено переможців', SubmissionFiled: 'Подано заявку', SubmissionAmended: 'Змінено заявку',
            SubmissionWithdrawn: 'Заявку відкликано', JuryScoreAdded: 'Оцінка члена журі', JuryScoreRetracted: 'Оцінку члена журі скасовано',
            CommunityRegistered: 'Зареєстровано громаду', CommunityJoinedNetwork: 'Громада приєдналася до мережі',
            CommunityLeftNetwork: 'Громада вийшла з мережі', SeminarHeld: 'Проведено семінар', PracticePublished: 'Опубліковано практику',
            PracticeRevised: 'Оновлено практику', PracticeUnpublished: 'Практику знято з публікації',
          };
          /** Names of the fields that the audit trail's details and changes carry. */
          const FIELDS = {
            communityId: 'громада', competitionId: 'конкурс', themeCode: 'тема', sector: 'сфера', submissionId: 'заявка',
            title: 'назва', jurorId: 'член журі', total: 'сума балів', previousTotal: 'попередня сума', rescore: 'повторна оцінка',
            submissionWithdrawn: 'заявку відкликано', fields: 'поля', reason: 'причина', name: 'назва', oblast: 'область',
            kind: 'тип ради', population: 'населення', directions: 'напрями', sectors: 'сфери', participationForms: 'форми участі',
            summary: 'опис', body: 'текст', tags: 'теги', submissionDeadline: 'строк подання', winners: 'переможці',
            participants: 'учасників', date: 'дата', city: 'місто', direction: 'напрям', practiceId: 'практика',
          };
          /** Fields whose values are codes of a vocabulary, and how to name them (`fields` lists field names). */
          const CODED_FIELDS = {
            sector: (v) => label(SECTORS, v), sectors: (v) => label(SECTORS, v), direction: (v) => label(DIRECTIONS, v),
            directions: (v) => label(DIRECTIONS, v), participationForms: (v) => label(FORMS, v), kind: (v) => label(KINDS, v),
            oblast: (v) => oblastName(v), fields: (v) => FIELDS[v] || v,
          };
          /** The regional figures a map can be coloured by: key, name, how to read it from a row, a column header. */
          const FIGURES = [
            ['communities', 'Зареєстровані громади', (r) => r.communities, 'Громади'],
            ['networkMembers', 'Громади в мережі', (r) => r.networkMembers, 'У мережі'],
            ['networkPopulation', 'Населення громад мережі', (r) => r.networkPopulation, 'Населення мережі'],
            ['submissions', 'Заявки на конкурси', (r) => Object.values(r.submissions || {}).reduce((a, b) => a + b, 0), 'Заявки'],
            ['meanScore', 'Середній бал заявок', (r) => r.meanScore, 'Сер. бал'],
            ['winners', 'Переможці', (r) => r.winners, 'Переможці'],
            ['seminars', 'Семінари', (r) => r.seminars, 'Семінари'],
            ['seminarParticipants', 'Учасники семінарів', (r) => r.seminarParticipants, 'Учасники'],
            ['seminarCommunities', 'Громади на семінарах', (r) => r.seminarCommunities, 'Громади на семінарах'],
            ['practices', 'Опубліковані практики', (r) => r.practices, 'Практики'],
          ];
          /** Which read model each view shows (the live feed names read models); the history reads the log. */
          const MODEL_OF = {
            leaderboard: 'leaderboard', regions: 'regions', catalog: 'catalog', network: 'network', seminars: 'seminars', history: null,
          };
          const VIEW_PARAMS = {
            leaderboard: ['competition', 'theme', 'kind'], regions: ['figure'],
            catalog: ['q', 'sector', 'direction', 'form', 'oblast', 'community'], network: [], seminars: [], history: ['stream'],
          };
          const CATALOG_LIMIT = 50;
          const ALL_THEMES = 'all';
          /** The rows of a board shown at first, and added by each "показати ще". */
          const BOARD_PAGE = 100;

          // ---- Small helpers. ----

          const $ = (id) => document.getElementById(id);
          const label = (names, code) => (code == null ? '—' : names[code] || code);
          const oblastName = (code) => (OBLASTS[code] ? OBLASTS[code][0] : code || '—');
          const numberFormat = new Intl.NumberFormat('uk-UA', { maximumFractionDigits: 2 });
          const number = (n) => (n == null ? '—' : numberFormat.format(n));
          const timeFormat = new Intl.DateTimeFormat('uk-UA', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' });
          const dateTime = (text) => (text ? timeFormat.format(new Date(text)) + ' UTC' : '—');
          /** `2020-10-15` (or the date of a date-time) as 15.10.2020, without time-zone arithmetic. */
          const date = (text) => (text ? text.slice(0, 10).split('-').reverse().join('.') : '—');

          /** An element with attributes (`class`, `data-*`, properties for the rest) and children (strings become text). */
          function el(tag, attributes, ...children) {
            const node = document.createElement(tag);
            for (const [name, value] of Object.entries(attributes || {})) {
              if (value == null || value === false) continue;
              if (name === 'class') node.className = value;
              else if (name.startsWith('data-') || name.startsWith('aria-') || name === 'title' || name === 'href' || name === 'download') {
                node.setAttribute(name, String(value));
              } else node[name] = value;
            }
            for (const child of children.flat()) {
              if (child == null || child === false) continue;
              node.append(child instanceof Node ? child : String(child));
            }
            return node;
          }

          /** A table from column headers and rows of cells; a cell is a value or `{ value, class }`. */
          function table(headers, rows, rowAttributes) {
            const head = el('tr', null, headers.map((h) => (typeof h === 'string' ? el('th', null, h) : el('th', { class: h.class }, h.text))));
            const body = rows.map((cells, i) =>
              el('tr', rowAttributes ? rowAttributes(i) : null,
                cells.map((c) => (c !== null && typeof c === 'object' && !(c instanceof Node) ? el('td', { class: c.class }, c.value) : el('td', null, c)))));
            return el('div', { class: 'table-wrap' }, el('table', null, el('thead', null, head), el('tbody', null, body)));
          }

          /** "Дані станом на позицію журналу P, записану T": the checkpoint each answer carries. */
          function asOfLine(asOf) {
            if (!asOf || !asOf.position) return el('p', { class: 'as-of-line' }, 'Журнал ще порожній: даних немає.');
            return el('p', { class: 'as-of-line', 'data-position': asOf.position },
              `Дані станом на подію №${asOf.position} журналу (записана ${dateTime(asOf.recordedAt)}).`);
          }

          // ---- The API. ----

          /** An answer other than 200, as the API describes it: `{"error": {"code", "message", "parameter"}}`. */
          class ApiError extends Error {
            constructor(status, code, message, parameter) {
              super(message);
              this.status = status;
              this.code = code;
              this.parameter = parameter;
            }
          }

          /** The address of an endpoint with its parameters (empty ones left out) and the chosen date. */
          function address(path, parameters, extra) {
            const query = new URLSearchParams();
            for (const [name, value] of Object.entries(parameters || {})) if (value) query.set(name, value);
            if (state.at) query.set('at', state.at);
            for (const [name, value] of Object.entries(extra || {})) query.set(name, value);
            const text = query.toString();
            return text ? `${path}?${text}` : path;
          }

          async function api(path, parameters) {
            let response;
            try {
              response = await fetch(address(path, parameters), { headers: { Accept: 'application/json' } });
            } catch (e) {
              throw new ApiError(0, 'unreachable', 'сервіс не відповідає (немає з’єднання)', null);
            }
            const text = await response.text();
            let body = null;
            try { body = JSON.parse(text); } catch (e) { body = null; }
            if (response.ok && body) return body;
            const error = body && body.error;
            if (error) throw new ApiError(response.status, error.code, error.message, error.parameter);
            throw new ApiError(response.status, 'http', text.slice(0, 300) || response.statusText, null);
          }

          /** The open-data links of a view: the same endpoint and parameters, as CSV and as JSON. */
          function downloads(view, path, parameters) {
            const place = document.querySelector(`[data-downloads="${view}"]`);
            if (!place) return;
            place.replaceChildren('Відкриті дані:',
              el('a', { href: address(path, parameters, { format: 'csv' }), download: `${view}.csv`, 'data-format': 'csv' }, 'CSV'),
              el('a', { href: address(path, parameters, { format: 'json' }), download: `${view}.json`, 'data-format': 'json' }, 'JSON'));
          }

          function showError(error) {
            const box = $('error');
            const title = error.status
              ? `Сервіс відповів помилкою ${error.status}${error.code ? ` (${error.code})` : ''}`
              : 'Не вдалося отримати дані';
            box.replaceChildren(
              el('strong', null, title),
              el('span', null, error.message || String(error)),
              error.parameter ? el('span', null, ' Параметр: ', el('code', null, error.parameter), '.') : null);
            box.hidden = false;
          }

          function clearError() {
            $('error').hidden = true;
            $('error').replaceChildren();
          }

          // ---- State: the view and its parameters, kept in the address so that a link shows the same. ----

          const state = { view: 'leaderboard', at: '' };

          function readAddress() {
            const [view, query] = location.hash.replace(/^#/, '').split('?');
            const parameters = new URLSearchParams(query || '');
            const next = { view: MODEL_OF.hasOwnProperty(view) ? view : 'leaderboard', at: parameters.get('at') || '' };
            for (const names of Object.values(VIEW_PARAMS)) for (const name of names) next[name] = parameters.get(name) || '';
            Object.keys(state).forEach((k) => delete state[k]);
            Object.assign(state, next);
          }

          function hashOf(next) {
            const query = new URLSearchParams();
            for (const names of Object.values(VIEW_PARAMS)) for (const name of names) if (next[name]) query.set(name, next[name]);
            if (next.at) query.set('at', next.at);
            const text = query.toString();
            return `#${next.view}${text ? `?${text}` : ''}`;
          }

          /** Changes the state through the address: the `hashchange` handler loads the view. */
          function navigate(changes) {
            const target = hashOf(Object.assign({}, state, changes));
            if (location.hash === target) load();
            else location.hash = target;
          }

          // ---- Loading a view: only the newest request of a view may render. ----

          let generation = 0;
          let loads = 0;
          /** How many rows of each board the screen asks for; "показати ще" adds a page. */
          let boardRows = BOARD_PAGE;

          async function load() {
            const mine = ++generation;
            const view = state.view;
            for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
            for (const tab of document.querySelectorAll('.tabs a')) {
              if (tab.dataset.view === view) tab.setAttribute('aria-current', 'page');
              else tab.removeAttribute('aria-current');
              tab.href = hashOf(Object.assign({}, state, { view: tab.dataset.view }));
            }
            $('as-of').value = state.at;
            showLive();
            const current = () => mine === generation;
            try {
              await LOADERS[view](current);
              if (!current()) return;
              clearError();
            } catch (error) {
              if (!current()) return;
              showError(error);
            }
            loads += 1;
            document.body.dataset.loads = String(loads);
            document.body.dataset.view = view;
          }

          // ---- Leaderboard. ----

          async function loadLeaderboard(current) {
            const list = await api('/api/v1/competitions');
            if (!current()) return;
            const competitions = list.competitions || [];
            const boards = $('lb-boards');
            fillSelect($('lb-competition'), competitions.map((c) => [c.competitionId, c.title || c.competitionId]), state.competition);
            if (!competitions.length) {
              fillSelect($('lb-theme'), [], '');
              downloads('leaderboard', '/api/v1/competitions', {});
              boards.replaceChildren(asOfLine(list.asOf), el('p', { class: 'empty' }, 'На цю дату жодного конкурсу ще не оголошено.'));
              return;
            }
            // A competition not (yet) announced is still asked for: the API's 404 says which ones there are.
            const competition = competitions.find((c) => c.competitionId === state.competition)
              || (state.competition ? { competitionId: state.competition, themes: [] } : competitions[competitions.length - 1]);
            const themes = competition.themes || [];
            const theme = state.theme === ALL_THEMES ? ALL_THEMES : (themes.find((t) => t.themeCode === state.theme) || themes[0] || {}).themeCode;
            $('lb-competition').value = competition.competitionId;
            fillSelect($('lb-theme'),
              themes.map((t) => [t.themeCode, `${t.themeCode}. ${t.title} (${t.submissions} заявок)`]).concat([[ALL_THEMES, 'усі теми']]), theme);
            $('lb-kind').value = state.kind;
            const parameters = { competition: competition.competitionId, theme: theme === ALL_THEMES ? '' : theme, kind: state.kind };
            // The open data is the whole board; the screen shows its first rows, more on request.
            downloads('leaderboard', '/api/v1/leaderboard', parameters);
            const answer = await api('/api/v1/leaderboard', Object.assign({ limit: boardRows }, parameters));
            if (!current()) return;
            const all = Array.isArray(answer) ? answer : [answer];
            boards.replaceChildren(asOfLine(all.length ? all[0].asOf : list.asOf), ...all.map(board));
            boards.dataset.position = all.length ? all[0].asOf.position : '';
          }

          /** One theme's board: rank, submission, community, score, jurors, provisional mark, place and diploma. */
          function board(b) {
            const announced = b.winnersAnnounced;
            const note = announced
              ? el('p', { class: 'board-note' }, el('span', { class: 'badge badge-final' }, 'переможців оголошено'), ' Місця й дипломи — за рішенням журі.')
              : el('p', { class: 'board-note' }, el('span', { class: 'badge badge-provisional' }, 'оцінювання триває'),
                ` Результат попередній, доки заявку не оцінять щонайменше ${b.minJurors} членів журі.`);
            const rows = (b.rows || []).map((r) => [
              { value: r.rank, class: 'num' },
              el('span', null, el('a', { href: hashOf(Object.assign({}, state, { view: 'history', stream: `submission-${r.submissionId}` })), title: 'історія змін заявки' }, r.title),
                el('span', { class: 'award' }, r.submissionId)),
              el('span', null, r.communityId, el('span', { class: 'award' }, `${oblastName(r.oblast)}, ${label(KINDS, r.kind)}`)),
              { value: number(r.score), class: 'num' },
              { value: r.jurors, class: 'num' },
              r.provisional ? el('span', { class: 'badge badge-provisional', title: `оцінили менше ніж ${b.minJurors} членів журі` }, 'попередній') : el('span', { class: 'badge' }, 'оцінено'),
              r.place != null
                ? el('span', null, el('span', { class: 'badge badge-place' }, `${r.place} місце`), r.award ? el('span', { class: 'award' }, r.award) : el('span', { class: 'award' }, 'диплом переможця'))
                : '—',
            ]);
            const heading = `Тема ${b.themeCode}. ${b.themeTitle || ''}${b.kind ? ` — ${label(KINDS, b.kind)} ради` : ''}`;
            return el('article', { class: 'board', 'data-theme': b.themeCode },
              el('h3', null, heading), note,
              rows.length
                ? table(['№', 'Заявка', 'Громада', { text: 'Середній бал', class: 'num' }, { text: 'Оцінок журі', class: 'num' }, 'Статус', 'Місце, диплом'], rows, (i) => {
                  const r = b.rows[i];
                  return {
                    'data-submission': r.submissionId, 'data-rank': r.rank, 'data-jurors': r.jurors,
                    'data-score': r.score == null ? '' : String(r.score), 'data-provisional': String(r.provisional),
                    'data-place': r.place == null ? '' : r.place,
                    class: [r.provisional ? 'provisional' : '', r.place != null ? 'winner' : ''].join(' ').trim() || null,
                  };
                })
                : el('p', { class: 'empty' }, 'Заявок немає.'),
              more(b));
          }

          /** The "показати ще" button under a board that has more rows than shown, or nothing. */
          function more(b) {
            if (!b.page || b.page.offset + b.rows.length >= b.page.total) return '';
            const button = el('button', { type: 'button', class: 'more' },
              `Показати ще (показано ${b.rows.length} з ${b.page.total})`);
            button.addEventListener('click', () => { boardRows += BOARD_PAGE; load(); });
            return el('p', { class: 'board-more' }, button);
          }

          /** Options `[value, text]`; keeps `chosen` selected, adding it when it is not among them. */
          function fillSelect(select, options, chosen, emptyText) {
            const list = emptyText != null ? [['', emptyText]].concat(options) : options.slice();
            if (chosen && !list.some(([v]) => v === chosen)) list.push([chosen, chosen]);
            select.replaceChildren(...list.map(([value, text]) => el('option', { value }, text)));
            select.value = chosen || (list.length ? list[0][0] : '');
          }

          // ---- Regions: a tile map of the 27 units and the table beside it. ----

          async function loadRegions(current) {
            const answer = await api('/api/v1/regions');
            if (!current()) return;
            const figure = FIGURES.find(([key]) => key === state.figure) || FIGURES[0];
            fillSelect($('rg-figure'), FIGURES.map(([key, name]) => [key, name]), figure[0]);
            downloads('regions', '/api/v1/regions', {});
            const byCode = {};
            for (const row of answer.rows || []) byCode[row.oblast] = row;
            const values = Object.keys(OBLASTS).map((code) => (byCode[code] ? figure[2](byCode[code]) : null)).filter((v) => v != null);
            const max = values.length ? Math.max(...values) : 0;
            const min = values.length ? Math.min(0, ...values) : 0;
            const map = $('rg-map');
            map.replaceChildren(...Object.entries(OBLASTS).map(([code, [name, short, column, row]]) => {
              const value = byCode[code] ? figure[2](byCode[code]) : null;
              const tile = el('div', { class: 'tile', title: `${name}: ${number(value)}`, 'data-oblast': code, 'data-value': value == null ? '' : value },
                el('span', { class: 'tile-name' }, short), el('span', { class: 'tile-value' }, number(value)));
              tile.style.gridColumn = String(column + 1);
              tile.style.gridRow = String(row + 1);
              if (value == null) tile.classList.add('none');
              else {
                const share = max > min ? (value - min) / (max - min) : 1;
                tile.style.backgroundColor = shade(share);
                if (share > 0.55) tile.classList.add('dark');
              }
              return tile;
            }));
            $('rg-legend').replaceChildren(figure[1] + ':', el('span', null, number(min)), el('span', { class: 'scale' }), el('span', null, number(max)),
              el('span', null, 'штрихування — немає даних'));
            const headers = [['oblast', 'Область']].concat(FIGURES.map(([key, , , short]) => [key, short]));
            const rows = Object.keys(OBLASTS).filter((code) => byCode[code])
              .sort((a, b) => (figure[2](byCode[b]) ?? -Infinity) - (figure[2](byCode[a]) ?? -Infinity) || a.localeCompare(b));
            const tableNode = table(
              headers.map(([key, name]) => ({ text: name, class: [key === 'oblast' ? '' : 'num', key === figure[0] ? 'chosen' : ''].join(' ').trim() || null })),
              rows.map((code) => [oblastName(code)].concat(FIGURES.map(([key, , read]) => ({ value: number(read(byCode[code])), class: key === figure[0] ? 'num chosen' : 'num' })))),
              (i) => ({ 'data-oblast': rows[i] }));
            $('rg-table').replaceWith(Object.assign(tableNode.querySelector('table'), { id: 'rg-table' }));
            const content = $('rg-content');
            content.dataset.position = answer.asOf ? answer.asOf.position : '';
            const line = content.parentNode.querySelector('.as-of-line');
            if (line) line.remove();
            content.before(asOfLine(answer.asOf));
          }

          /** From a pale blue (share 0) to the dark blue of the flag (share 1). */
          function shade(share) {
            const from = [232, 240, 251];
            const to = [0, 63, 134];
            const mix = from.map((f, i) => Math.round(f + (to[i] - f) * share));
            return `rgb(${mix.join(', ')})`;
          }

          // ---- Catalog: search, facets, highlighted snippets. ----

          async function loadCatalog(current) {
            const parameters = {
              q: state.q, sector: state.sector, direction: state.direction, form: state.form, oblast: state.oblast,
              community: state.community, limit: String(CATALOG_LIMIT),
            };
            $('ct-q').value = state.q;
            downloads('catalog', '/api/v1/catalog', Object.assign({}, parameters, { limit: '10000' }));
            const answer = await api('/api/v1/catalog', parameters);
            if (!current()) return;
            const facets = answer.facets || {};
            const facetOptions = (name, names) =>
              Object.entries(facets[name] || {}).map(([value, count]) => [value, `${names ? label(names, value) : value} (${count})`])
                .sort((a, b) => a[1].localeCompare(b[1], 'uk'));
            fillSelect($('ct-sector'), facetOptions('sector', SECTORS), state.sector, 'усі');
            fillSelect($('ct-direction'), facetOptions('direction', DIRECTIONS), state.direction, 'усі');
            fillSelect($('ct-form'), facetOptions('form', FORMS), state.form, 'усі');
            fillSelect($('ct-oblast'), facetOptions('oblast', Object.fromEntries(Object.entries(OBLASTS).map(([c, v]) => [c, v[0]]))), state.oblast, 'усі');
            fillSelect($('ct-community'), facetOptions('community'), state.community, 'усі');
            const rows = answer.rows || [];
            const found = answer.total === 0
              ? 'Нічого не знайдено.'
              : `Знайдено практик: ${answer.total}${answer.total > rows.length ? `, показано перші ${rows.length}` : ''}.`;
            const results = $('ct-results');
            results.replaceChildren(asOfLine(answer.asOf), el('p', { class: 'found' }, found),
              el('ol', { class: 'results' }, rows.map((r) => el('li', { 'data-practice': r.practiceId },
                el('h3', null, r.title),
                el('div', { class: 'meta' },
                  `${r.practiceId} · громада ${r.communityId} · ${oblastName(r.oblast)} · ${label(SECTORS, r.sector)}`,
                  (r.directions || []).length ? ` · ${r.directions.map((d) => label(DIRECTIONS, d)).join(', ')}` : ''),
                r.snippet ? el('p', { class: 'snippet' }, highlighted(r.snippet)) : null,
                (r.tags || []).length ? el('div', { class: 'tags' }, r.tags.map((t) => el('span', { class: 'badge' }, t))) : null))));
            results.dataset.position = answer.asOf ? answer.asOf.position : '';
          }

          /** The snippet's matched words, marked `[word]` by the API, as <mark> elements (text nodes otherwise). */
          function highlighted(snippet) {
            return snippet.split(/(\[[^\]]*\])/).filter((part) => part !== '').map((part) =>
              (part.startsWith('[') && part.endsWith(']') ? el('mark', null, part.slice(1, -1)) : document.createTextNode(part)));
          }

          // ---- Network register and seminars. ----

          async function loadNetwork(current) {
            downloads('network', '/api/v1/network', {});
            const answer = await api('/api/v1/network');
            if (!current()) return;
            const rows = answer.rows || [];
            const content = $('nw-content');
            content.replaceChildren(asOfLine(answer.asOf), el('p', null, `Громад у мережі: ${rows.length}.`),
              rows.length
                ? table(['Громада', 'Область', 'У мережі з', 'Сфери', 'Напрями', { text: 'Семінарів відвідано', class: 'num' }],
                  rows.map((r) => [
                    el('span', null, r.name, el('span', { class: 'award' }, r.communityId)), oblastName(r.oblast), date(r.joinedAt),
                    (r.sectors || []).map((s) => label(SECTORS, s)).join(', ') || '—',
                    (r.directions || []).map((d) => label(DIRECTIONS, d)).join(', ') || '—',
                    { value: r.seminarsAttended, class: 'num' },
                  ]), (i) => ({ 'data-community': rows[i].communityId }))
                : el('p', { class: 'empty' }, 'Реєстр порожній.'));
            content.dataset.position = answer.asOf ? answer.asOf.position : '';
          }

          async function loadSeminars(current) {
            downloads('seminars', '/api/v1/seminars', {});
            const answer = await api('/api/v1/seminars');
            if (!current()) return;
            const rows = answer.rows || [];
            const participants = rows.reduce((sum, r) => sum + (r.participants || 0), 0);
            const content = $('sm-content');
            content.replaceChildren(asOfLine(answer.asOf), el('p', null, `Семінарів: ${rows.length}, учасників: ${number(participants)}.`),
              rows.length
                ? table(['Дата', 'Семінар', 'Напрям', 'Місце', { text: 'Учасників', class: 'num' }, { text: 'Громад', class: 'num' }],
                  rows.map((r) => [
                    date(r.date), el('span', null, r.title, el('span', { class: 'award' }, r.seminarId)), label(DIRECTIONS, r.direction),
                    `${r.city || '—'}, ${oblastName(r.oblast)}`, { value: number(r.participants), class: 'num' }, { value: r.communities, class: 'num' },
                  ]), (i) => ({ 'data-seminar': rows[i].seminarId }))
                : el('p', { class: 'empty' }, 'Семінарів ще не було.'));
            content.dataset.position = answer.asOf ? answer.asOf.position : '';
          }

          // ---- A stream's audit trail. ----

          async function loadHistory(current) {
            $('hs-stream').value = state.stream;
            const content = $('hs-content');
            if (!state.stream) {
              content.replaceChildren(el('p', { class: 'empty' },
                'Уведіть назву потоку (наприклад, submission-bp-2020-00007, community-myrhorodska) або відкрийте заявку з рейтингу.'));
              return;
            }
            const answer = await api(`/api/v1/streams/${encodeURIComponent(state.stream)}/history`);
            if (!current()) return;
            const events = answer.events || [];
            content.replaceChildren(
              el('p', { class: 'as-of-line' }, `Потік ${answer.stream}: подій ${events.length}${state.at ? ` до ${date(state.at)} включно` : ''}.`),
              el('ol', { class: 'history' }, events.map((e) => el('li', { 'data-position': e.position },
                el('div', { class: 'when' }, `№${e.position} · версія ${e.version} · ${dateTime(e.recordedAt)} · ${e.actor || '—'}`),
                el('div', { class: 'what' }, EVENT_TYPES[e.type] || e.type),
                details(e)))));
            content.dataset.position = events.length ? events[events.length - 1].position : '';
          }

          /** An event's details and its changes (before → after), with Ukrainian field names. */
          function details(event) {
            const value = (v) => (v === true ? 'так' : v === false ? 'ні' : v == null ? '—' : Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v));
            const items = [];
            const named = (key, v) => {
              const names = CODED_FIELDS[key];
              if (names && Array.isArray(v)) return v.map((item) => names(item));
              return names && typeof v === 'string' ? names(v) : v;
            };
            for (const [key, v] of Object.entries(event.details || {})) {
              items.push(el('dt', null, `${FIELDS[key] || key}:`), el('dd', null, value(named(key, v))));
            }
            for (const change of event.changes || []) {
              const before = value(named(change.field, change.before));
              items.push(el('dt', null, `${FIELDS[change.field] || change.field}:`), el('dd', null, `${before} → ${value(named(change.field, change.after))}`));
            }
            return items.length ? el('dl', { class: 'changes' }, items) : null;
          }

          const LOADERS = {
            leaderboard: loadLeaderboard, regions: loadRegions, catalog: loadCatalog, network: loadNetwork, seminars: loadSeminars,
            history: loadHistory,
          };

          // ---- Live updates: /api/v1/live, re-fetching the view whose read model moved. ----

          let live = 'connecting';
          let positions = null;
          let retry = 1000;

          function showLive() {
            const pill = $('live');
            const text = state.at ? `архів: стан на ${date(state.at)}` : { on: 'наживо', connecting: 'з’єднання…', off: 'без оновлень наживо' }[live];
            pill.textContent = text;
            pill.className = `live live-${state.at ? 'past' : live}`;
            document.body.dataset.live = live;
            $('as-of-note').textContent = state.at
              ? `Показано стан на кінець дня ${date(state.at)} (UTC). Натисніть «Зараз», щоб повернутися до поточного стану.`
              : 'Показано поточний стан; сторінка оновлюється сама, щойно змінюються дані.';
          }

          /** The read models whose position differs between two `models` maps of the feed. */
          function movedBetween(before, after) {
            return Object.keys(after || {}).filter((name) => !before || before[name] !== after[name]);
          }

          function moved(names) {
            if (!names.length) return;
            if (state.at) {
              $('newer').hidden = false;
              return;
            }
            const model = MODEL_OF[state.view];
            if (model === null ? state.stream : names.includes(model)) refresh();
          }

          // A burst of moves (an import) re-fetches once more after the load in flight, not once per move.
          let refreshing = false;
          let again = false;

          function behind() {
            const model = MODEL_OF[state.view];
            if (!model || !positions || state.at || positions[model] === undefined) return false;
            const line = document.querySelector(`#view-${state.view} .as-of-line[data-position]`);
            return !!line && Number(line.dataset.position) < Number(positions[model]);
          }

          async function refresh() {
            if (refreshing) {
              again = true;
              return;
            }
            refreshing = true;
            try {
              let tries = 0;
              do {
                again = false;
                await load();
                // The answer may be the one before the change the feed told of, served while another
                // request builds the new one: load again until the view is as of that position.
                if (!again && behind() && tries++ < 20) {
                  await new Promise((done) => setTimeout(done, 100));
                  again = true;
                }
              } while (again);
            } finally {
              refreshing = false;
            }
          }

          /** The open feed, closed when the page is left: a browser gives a server six HTTP/1.1
           *  connections, and a left page whose feed stayed open (kept for "back", or not yet
           *  collected) would hold one of them, so the seventh page would wait for ever. */
          let feed = null;

          function connect() {
            if (feed) feed.close();
            const source = new EventSource('/api/v1/live');
            feed = source;
            source.addEventListener('ready', (event) => {
              const data = JSON.parse(event.data);
              live = 'on';
              retry = 1000;
              showLive();
              // After a reconnection: whatever moved while the feed was down.
              if (positions) moved(movedBetween(positions, data.models));
              positions = data.models;
            });
            source.addEventListener('moved', (event) => {
              const data = JSON.parse(event.data);
              positions = data.models;
              moved(data.moved || []);
            });
            source.addEventListener('error', () => {
              live = source.readyState === EventSource.CLOSED ? 'off' : 'connecting';
              showLive();
              // The browser retries by itself unless the answer was not an event stream at all.
              if (source.readyState === EventSource.CLOSED && feed === source) {
                setTimeout(() => { if (feed === source) connect(); }, retry);
                retry = Math.min(retry * 2, 60000);
              }
            });
          }

          // ---- Controls. ----

          function start() {
            window.addEventListener('hashchange', () => { readAddress(); load(); });
            for (const tab of document.querySelectorAll('.tabs a')) {
              tab.addEventListener('click', (event) => { event.preventDefault(); navigate({ view: tab.dataset.view }); });
            }
            $('as-of').addEventListener('change', () => { $('newer').hidden = true; navigate({ at: $('as-of').value }); });
            $('as-of-form').addEventListener('submit', (event) => event.preventDefault());
            const now = () => { $('newer').hidden = true; navigate({ at: '' }); };
            $('as-of-now').addEventListener('click', now);
            $('newer-now').addEventListener('click', now);
            $('lb-competition').addEventListener('change', () => navigate({ competition: $('lb-competition').value, theme: '' }));
            $('lb-theme').addEventListener('change', () => navigate({ theme: $('lb-theme').value }));
            $('lb-kind').addEventListener('change', () => navigate({ kind: $('lb-kind').value }));
            $('leaderboard-form').addEventListener('submit', (event) => event.preventDefault());
            $('regions-form').addEventListener('submit', (event) => event.preventDefault());
            $('rg-figure').addEventListener('change', () => navigate({ figure: $('rg-figure').value }));
            $('catalog-form').addEventListener('submit', (event) => { event.preventDefault(); navigate({ q: $('ct-q').value.trim() }); });
            for (const name of ['sector', 'direction', 'form', 'oblast', 'community']) {
              $(`ct-${name}`).addEventListener('change', () => navigate({ [name]: $(`ct-${name}`).value, q: $('ct-q').value.trim() }));
            }
            $('history-form').addEventListener('submit', (event) => { event.preventDefault(); navigate({ stream: $('hs-stream').value.trim() }); });
            readAddress();
            load();
            connect();
            window.addEventListener('pagehide', () => { if (feed) feed.close(); feed = null; });
            // Back to a page the browser kept: the feed again, and whatever moved meanwhile.
            window.addEventListener('pageshow', (event) => { if (event.persisted) { connect(); load(); } });
          }

          document.addEventListener('DOMContentLoaded', start);
        })();

        """#
}
