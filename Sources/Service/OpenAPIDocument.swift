import Events
import Rendering

/// The OpenAPI 3.1 document of the whole HTTP API, served at `/openapi.json`: every endpoint,
/// its parameters (enums where the set is closed), its answers' schemas (JSON Schema 2020-12)
/// and status codes. Built as a ``JSONValue`` so that it prints through the one encoder;
/// `Tests/AdminTests/OpenAPITests.swift` checks real answers against it with a validator.
public enum OpenAPIDocument {
    /// The document as served.
    public static let json = JSONOutput.encode(document)

    public static var document: JSONValue {
        [
            "openapi": "3.1.0",
            "info": [
                "title": "Hromada Ledger API",
                "version": "1",
                "description": .string(
                    "The read models of the best-practices programme of local self-government, the event log's history and the service's health. Every read-model endpoint takes at= (a date, a date-time or position:N) and format= (csv, json, jsonl: docs/OPEN-DATA.md)."
                ),
            ],
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "paths": .object(paths),
            "components": [
                "schemas": .object(schemas), "parameters": .object(parameters),
                "securitySchemes": [
                    "bearer": [
                        "type": "http", "scheme": "bearer",
                        "description": "The token in the file the service was started with (--token-file).",
                    ]
                ],
            ],
        ]
    }

    // MARK: Paths

    static var paths: [String: JSONValue] {
        [
            "/api/v1/leaderboard": readModel(
                "leaderboard", "A competition's leaderboard: one theme's board, or every theme's (an array when there are several).",
                parameters: ["competition", "theme", "kind", "boardLimit", "offset"], schema: ref("LeaderboardAnswer"), notFound: true),
            "/api/v1/competitions": readModel(
                "competitions", "The competitions and their themes: what the leaderboard can be asked for.",
                parameters: [], schema: ref("CompetitionList")),
            "/api/v1/regions": readModel(
                "regions", "Regional statistics per oblast.", parameters: [], schema: ref("RegionalStatistics")),
            "/api/v1/catalog": readModel(
                "catalog", "Full-text search (Ukrainian) of the practices catalog; without q, every practice by id.",
                parameters: ["q", "sector", "direction", "form", "oblast", "community", "limit"], schema: ref("CatalogPage")),
            "/api/v1/network": readModel(
                "network", "The network register: the communities in the network now.", parameters: [],
                schema: ref("NetworkRegister")),
            "/api/v1/seminars": readModel(
                "seminars", "The regional seminars with their attendance.", parameters: [], schema: ref("SeminarList")),
            "/api/v1/streams/{stream}/history": [
                "get": operation(
                    "streamHistory", "A stream's audit trail: who, when, what changed (admin history STREAM --json).",
                    parameters: [.object(["$ref": "#/components/parameters/stream"]), param("at")],
                    responses: [
                        "200": json("The trail.", ref("StreamHistory")), "400": error("A bad stream name or at=."),
                        "404": error("The stream does not exist."),
                    ])
            ],
            "/api/v1/stats": [
                "get": operation(
                    "stats", "The log's figures and each projection's checkpoint and lag (admin stats --json).",
                    parameters: [], responses: ["200": json("The figures.", ref("Stats")), "400": error("A query parameter.")])
            ],
            "/health/live": [
                "get": operation(
                    "live", "The process answers.", parameters: [],
                    responses: [
                        "200": json("Alive.", object(["status": ["const": "live"]])), "400": error("A query parameter."),
                    ])
            ],
            "/health/ready": [
                "get": operation(
                    "ready", "Every read model is within --ready-lag events of the head.", parameters: [],
                    responses: [
                        "200": json("Ready.", ref("Readiness")), "400": error("A query parameter."),
                        "503": json("A read model lags, or is stale.", ref("Readiness")),
                    ])
            ],
            "/openapi.json": [
                "get": operation(
                    "openapi", "This document.", parameters: [],
                    responses: ["200": json("The OpenAPI 3.1 document.", ["type": "object"]), "400": error("A query parameter.")])
            ],
            "/api/v1/live": [
                "get": operation(
                    "liveEvents",
                    "Server-sent events: `event: ready` once (data: LiveReady), then `event: moved` whenever the head or a read model moves (data: LiveMoved; `moved` names the read models whose rows changed: refresh those), and a `: keep-alive` comment every 15 s. Each event's `id` is the head position.",
                    parameters: [],
                    responses: [
                        "200": [
                            "description": "An open text/event-stream.",
                            "content": ["text/event-stream; charset=utf-8": ["schema": ["type": "string"]]],
                        ],
                        "400": error("A query parameter."),
                    ])
            ],
            "/api/v1/events": [
                "get": operation(
                    "events",
                    "A catch-up subscription: the stored events after position `from` (0: from the first), one export line per line as admin export writes them, in log order; follow=true then keeps the connection open and streams each new line as it is committed (an empty line every 15 s keeps it alive). A client that reconnects with the position of the last line it has gets every later line exactly once.",
                    parameters: [
                        param("from"), .object(["$ref": "#/components/parameters/eventLimit"]), param("follow"),
                    ],
                    responses: [
                        "200": [
                            "description": "One ExportLine per line.",
                            "headers": ["X-Head-Position": ["description": "The log's head when the answer began.", "schema": ["type": "integer"]]],
                            "content": ["application/x-ndjson; charset=utf-8": ["schema": ["type": "string"], "x-line-schema": ref("ExportLine")]],
                        ],
                        "400": error("A bad from, limit or follow."),
                    ])
            ],
            "/metrics": [
                "get": operation(
                    "metrics", "Prometheus metrics.", parameters: [],
                    responses: [
                        "200": [
                            "description": "The Prometheus text format.",
                            "content": ["text/plain; version=0.0.4; charset=utf-8": ["schema": ["type": "string"]]],
                        ],
                        "400": error("A query parameter."),
                    ])
            ],
            "/api/v1/streams/{stream}": [
                "post": [
                    "operationId": "append",
                    "summary": "Append events to a stream (only when the service runs with --token-file).",
                    "security": [["bearer": []]],
                    "parameters": [.object(["$ref": "#/components/parameters/stream"])],
                    "requestBody": [
                        "required": true, "content": ["application/json": ["schema": ref("AppendRequest")]],
                    ],
                    "responses": [
                        "201": json("Appended.", ref("AppendResult")),
                        "200": json("A retry: every event's id is in the log already; nothing appended, the positions of the first time.", ref("AppendResult")),
                        "400": error("A bad body or event (the parameter names the field, e.g. events[1].data.scores.relevance)."),
                        "401": error("No bearer token."), "403": error("A wrong bearer token."),
                        "405": error("The service is read-only (started without --token-file)."),
                        "409": error("expectedVersion does not match the stream."),
                        "413": error("The body is larger than --max-body."),
                        "503": error("Another process holds the store's writer beyond the wait (Retry-After)."),
                    ],
                ]
            ],
        ]
    }

    /// A read-model endpoint: JSON by default, CSV or JSON Lines with `format=`.
    static func readModel(
        _ id: String, _ summary: String, parameters names: [String], schema: JSONValue, notFound: Bool = false
    ) -> JSONValue {
        var responses: [String: JSONValue] = [
            "200": [
                "description": "The answer as of its asOf; with format=csv|jsonl the export (the as-of in the X-As-Of headers).",
                "headers": [
                    "X-As-Of-Position": ["description": "With format=: the position the export reflects.", "schema": ["type": "integer"]],
                    "X-As-Of-Recorded-At": ["description": "With format=: that event's recordedAt.", "schema": ["type": "string"]],
                    "Content-Disposition": ["description": "With format=: a file name.", "schema": ["type": "string"]],
                ],
                "content": [
                    "application/json; charset=utf-8": ["schema": schema],
                    "text/csv; charset=utf-8": ["schema": ["type": "string"]],
                    "application/x-ndjson; charset=utf-8": ["schema": ["type": "string"]],
                ],
            ],
            "400": error("An unknown parameter, or a bad at=, format, kind or limit."),
            "503": error("The read model was found to differ from the log (not served until rebuilt)."),
        ]
        if notFound { responses["404"] = error("An unknown competition or theme.") }
        return ["get": operation(id, summary, parameters: (names + ["at", "format"]).map(param), responses: responses)]
    }

    static func operation(
        _ id: String, _ summary: String, parameters: [JSONValue], responses: [String: JSONValue]
    ) -> JSONValue {
        var all = responses
        all["405"] = error("A method other than GET or HEAD.")
        return ["operationId": .string(id), "summary": .string(summary), "parameters": .array(parameters), "responses": .object(all)]
    }

    static func param(_ name: String) -> JSONValue { ["$ref": .string("#/components/parameters/\(name)")] }
    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    static func json(_ description: String, _ schema: JSONValue) -> JSONValue {
        ["description": .string(description), "content": ["application/json; charset=utf-8": ["schema": schema]]]
    }

    static func error(_ description: String) -> JSONValue { json(description, ref("Error")) }

    // MARK: Parameters

    static func query(_ name: String, _ description: String, _ schema: JSONValue, required: Bool = false) -> JSONValue {
        ["name": .string(name), "in": "query", "required": .bool(required), "description": .string(description), "schema": schema]
    }

    static func strings(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }

    static var parameters: [String: JSONValue] {
        [
            "at": query(
                "at", "As of a recorded time: a date (its end, UTC), a date-time (RFC 3339) or position:N.",
                ["type": "string", "examples": ["2020-10-15", "2020-10-15T12:00:00Z", "position:12000"]]),
            "format": query(
                "format", "json (the default document), csv (UTF-8 with BOM, RFC 4180) or jsonl (one row per line).",
                ["type": "string", "enum": strings(OpenDataFormat.allCases.map(\.rawValue))]),
            "competition": query("competition", "The competition's id (see /api/v1/competitions).", ["type": "string"], required: true),
            "theme": query("theme", "One theme's code (default: every theme).", ["type": "string"]),
            "kind": query("kind", "Only communities of this kind.", ["type": "string", "enum": strings(Vocabulary.communityKinds)]),
            "q": query("q", "Words to search for.", ["type": "string"]),
            "sector": query(
                "sector", "Only practices of this sector (known: \(Vocabulary.sectors.joined(separator: ", "))).", ["type": "string"]),
            "direction": query(
                "direction", "Only practices of this direction (known: \(Vocabulary.directions.joined(separator: ", "))).",
                ["type": "string"]),
            "form": query(
                "form", "Only practices with this participation form (known: \(Vocabulary.participationForms.joined(separator: ", "))).",
                ["type": "string"]),
            "oblast": query("oblast", "Only practices of communities in this oblast (ISO 3166-2:UA).", ["type": "string"]),
            "community": query("community", "Only practices of this community (its id).", ["type": "string"]),
            "limit": query(
                "limit", "How many hits (the total is counted in full); default 20, with format= 10000.",
                ["type": "integer", "minimum": 1, "maximum": 10_000]),
            "boardLimit": query(
                "limit", "A page of each board: at most this many rows (the answer then has page).",
                ["type": "integer", "minimum": 0, "maximum": 1_000_000]),
            "offset": query(
                "offset", "A page of each board: skip this many rows, in rank order (the answer then has page).",
                ["type": "integer", "minimum": 0, "maximum": 2_147_483_647]),
            "stream": [
                "name": "stream", "in": "path", "required": true, "description": "The stream's name.", "schema": ["type": "string"],
            ],
            "from": query("from", "The events after this position (0, the default: from the first).", ["type": "integer", "minimum": 0]),
            "eventLimit": query("limit", "At most this many lines.", ["type": "integer", "minimum": 1, "maximum": 1_000_000]),
            "follow": query("follow", "Keep the connection open and stream new lines.", ["type": "string", "enum": ["true", "false"]]),
        ]
    }

    // MARK: Schemas

    /// An object schema whose keys are all required and no other key allowed.
    static func object(_ properties: [String: JSONValue]) -> JSONValue {
        [
            "type": "object", "properties": .object(properties), "required": strings(properties.keys.sorted()),
            "additionalProperties": false,
        ]
    }

    /// `schema` (an ``object(_:)``) with `extra` properties that an answer may leave out.
    static func optional(_ schema: JSONValue, _ extra: [String: JSONValue]) -> JSONValue {
        guard case .object(var fields) = schema, case .object(var properties)? = fields["properties"] else { return schema }
        for (name, value) in extra { properties[name] = value }
        fields["properties"] = .object(properties)
        return .object(fields)
    }

    static func nullable(_ type: String) -> JSONValue { ["type": [.string(type), "null"]] }
    static let string: JSONValue = ["type": "string"]
    static let integer: JSONValue = ["type": "integer"]
    static let number: JSONValue = ["type": "number"]
    static let boolean: JSONValue = ["type": "boolean"]
    static let stringList: JSONValue = ["type": "array", "items": ["type": "string"]]
    static func counts(_ value: JSONValue) -> JSONValue { ["type": "object", "additionalProperties": value] }

    static var schemas: [String: JSONValue] {
        [
            "AsOf": object(["position": ["type": "integer", "minimum": 0], "recordedAt": nullable("string")]),
            "Error": object([
                "error": object([
                    "code": string, "message": string, "parameter": nullable("string"),
                ])
            ]),
            "LeaderboardEntry": object([
                "rank": integer, "submissionId": string, "title": nullable("string"), "communityId": string,
                "oblast": nullable("string"), "score": nullable("number"), "jurors": integer, "provisional": boolean,
                "place": nullable("integer"), "kind": nullable("string"), "award": nullable("string"),
            ]),
            "Leaderboard": optional(
                object([
                    "competitionId": string, "themeCode": string, "asOf": ref("AsOf"),
                    "rows": ["type": "array", "items": ref("LeaderboardEntry")], "competitionTitle": nullable("string"),
                    "themeTitle": nullable("string"),
                    "kind": ["enum": .array(Vocabulary.communityKinds.map(JSONValue.string) + [.null])],
                    "minJurors": integer, "winnersAnnounced": boolean,
                ]),
                // Only on a page of the board (limit= or offset=).
                ["page": object(["limit": nullable("integer"), "offset": integer, "total": integer])]),
            "LeaderboardAnswer": [
                "oneOf": [ref("Leaderboard"), ["type": "array", "items": ref("Leaderboard")]],
            ],
            "CompetitionList": object([
                "asOf": ref("AsOf"),
                "competitions": [
                    "type": "array",
                    "items": object([
                        "competitionId": string, "title": nullable("string"), "minJurors": nullable("integer"),
                        "themes": [
                            "type": "array",
                            "items": object([
                                "themeCode": string, "title": nullable("string"), "winnersAnnounced": boolean,
                                "submissions": integer,
                            ]),
                        ],
                    ]),
                ],
            ]),
            "RegionalStatistics": object(["asOf": ref("AsOf"), "rows": ["type": "array", "items": ref("Region")]]),
            "Region": object([
                "oblast": string, "communities": integer, "networkMembers": integer, "networkPopulation": integer,
                "submissions": counts(integer), "meanScore": nullable("number"), "meanScores": counts(number),
                "winners": integer, "seminars": integer, "seminarParticipants": integer, "seminarCommunities": integer,
                "practices": integer,
            ]),
            "CatalogPage": object([
                "query": nullable("string"), "asOf": ref("AsOf"), "total": integer,
                "rows": ["type": "array", "items": ref("CatalogHit")],
                "filters": object([
                    "sector": nullable("string"), "direction": nullable("string"), "form": nullable("string"),
                    "oblast": nullable("string"), "community": nullable("string"),
                ]),
                "facets": object([
                    "sector": counts(integer), "direction": counts(integer), "form": counts(integer),
                    "oblast": counts(integer), "community": counts(integer),
                ]),
            ]),
            "CatalogHit": object([
                "practiceId": string, "title": string, "communityId": string, "oblast": nullable("string"),
                "sector": nullable("string"), "snippet": string, "rank": integer, "relevance": nullable("number"),
                "directions": stringList, "participationForms": stringList, "tags": stringList,
            ]),
            "NetworkRegister": object(["asOf": ref("AsOf"), "rows": ["type": "array", "items": ref("NetworkMember")]]),
            "NetworkMember": object([
                "communityId": string, "name": nullable("string"), "oblast": nullable("string"), "joinedAt": string,
                "sectors": stringList, "directions": stringList, "seminarsAttended": integer,
            ]),
            "SeminarList": object(["asOf": ref("AsOf"), "rows": ["type": "array", "items": ref("Seminar")]]),
            "Seminar": object([
                "seminarId": string, "title": nullable("string"), "date": nullable("string"), "oblast": nullable("string"),
                "city": nullable("string"), "direction": nullable("string"), "participants": integer,
                "communities": integer, "communityIds": stringList,
            ]),
            "StreamHistory": object([
                "stream": string,
                "events": [
                    "type": "array",
                    "items": object([
                        "id": ["type": "string", "format": "uuid"], "hash": ["type": "string", "pattern": "^[0-9a-f]{64}$"],
                        "position": integer, "version": integer, "type": string, "recordedAt": string,
                        "occurredAt": string, "actor": nullable("string"),
                        "changes": [
                            "type": "array", "items": object(["field": string, "before": [:], "after": [:]]),
                        ],
                        "summary": string, "details": ["type": "object"],
                    ]),
                ],
            ]),
            "Stats": object([
                "events": integer, "streams": integer, "frames": integer, "segments": integer, "logBytes": integer,
                "indexBytes": integer, "uncompressedBytes": integer, "headPosition": integer,
                "headRecordedAt": nullable("string"), "headHash": nullable("string"),
                "projections": [
                    "type": "array",
                    "items": object([
                        "name": string, "checkpoint": integer, "checkpointRecordedAt": nullable("string"),
                        "lagEvents": integer, "lagSeconds": number,
                        "state": ["enum": ["running", "failed", "rebuilding"]], "schemaVersion": integer,
                        "codeSchemaVersion": integer, "lastError": nullable("string"),
                    ]),
                ],
                "audits": [
                    "type": "array",
                    "items": object([
                        "projection": string, "status": string, "position": integer, "checkedAt": string,
                        "differences": integer, "current": boolean,
                    ]),
                ],
            ]),
            "Readiness": object([
                "status": ["enum": ["ready", "lagging"]], "headPosition": integer, "readyLag": integer,
                "projections": [
                    "type": "array",
                    "items": object([
                        "name": string, "checkpoint": integer, "lagEvents": integer,
                        "state": ["enum": ["running", "failed", "rebuilding"]], "ready": boolean,
                    ]),
                ],
            ]),
            "LiveReady": object(["head": integer, "models": counts(integer), "changed": counts(integer)]),
            "LiveMoved": object(["head": integer, "moved": stringList, "models": counts(integer), "changed": counts(integer)]),
            "ExportLine": object([
                "position": integer, "id": ["type": "string", "format": "uuid"], "stream": string, "version": integer,
                "type": string, "occurredAt": string, "recordedAt": string, "data": ["type": "object"],
                "metadata": ["type": "object"], "hash": ["type": "string", "pattern": "^[0-9a-f]{64}$"],
            ]),
            "AppendRequest": object([
                "expectedVersion": ["oneOf": [["type": "integer", "minimum": -1], ["enum": ["any", "no-stream"]]]],
                "events": [
                    "type": "array", "minItems": 1, "maxItems": 10_000,
                    "items": [
                        "type": "object",
                        "properties": [
                            "id": ["type": "string", "format": "uuid"], "type": string, "data": ["type": "object"],
                            "metadata": ["type": "object"], "occurredAt": ["type": "string", "format": "date-time"],
                        ],
                        "required": ["id", "type", "data"], "additionalProperties": false,
                    ],
                ],
            ]),
            "AppendResult": [
                "type": "object",
                "properties": [
                    "positions": ["type": "array", "items": integer], "head": integer, "appended": integer,
                    "duplicates": integer, "indexBehind": string,
                ],
                "required": ["positions", "head", "appended", "duplicates"], "additionalProperties": false,
            ],
        ]
    }
}
