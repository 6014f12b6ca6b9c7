import ArgumentParser
import Events

extension Admin {
    static let projectionCommands: [any ParsableCommand.Type] = [Stats.self]
}

struct ProjectionStatusLine {
    var text: String
    var json: JSONValue
}

func projectionStatusLines(layout: StoreLayout, head: Int64, headTime: String?) throws -> [ProjectionStatusLine] { [] }
