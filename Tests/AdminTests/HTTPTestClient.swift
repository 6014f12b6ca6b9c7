import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A minimal HTTP/1.1 client over a socket (no HTTP library in the tests): a request out, then
/// the answer's bytes read as they come, so that a test can watch a stream (server-sent events,
/// the catch-up subscription) while it does other things.
final class HTTPConnection {
    struct NotListening: Error {}

    private(set) var fd: Int32
    /// Everything received so far (head and body as sent, chunked encoding included).
    private(set) var received: [UInt8] = []
    private(set) var closedByPeer = false

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        try #require(fd >= 0, "socket: \(errno)")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw NotListening()
        }
    }

    /// Closes the connection (the client goes away). Closing twice would close whatever
    /// descriptor the number was given to in between, another test's pipe for one: so the
    /// number is forgotten here, and `deinit` closes only a connection still open.
    func disconnect() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { disconnect() }

    func send(
        _ method: String, _ target: String, headers: [String: String] = [:], body: [UInt8] = [], keepOpen: Bool = false
    ) throws {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if !keepOpen { head += "Connection: close\r\n" }
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { head += "\(name): \(value)\r\n" }
        if !body.isEmpty || method == "POST" { head += "Content-Length: \(body.count)\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return }  // the server may answer (413) and close before reading it all
            sent += n
        }
    }

    /// Reads until `done` holds for the answer so far, the peer closes, or `seconds` pass.
    /// - Returns: whether `done` held.
    @discardableResult
    func receive(seconds: Double = 30, until done: (HTTPAnswer) -> Bool = { _ in false }) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let answer = try? HTTPAnswer(received, complete: false), done(answer) { return true }
            if closedByPeer { return false }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 1) * 1000) + 1) > 0 else { continue }
            let n = recv(fd, &buffer, buffer.count, 0)
            // A signal (the children of other tests ending) interrupts recv: that is no close.
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            if n <= 0 { closedByPeer = true } else { received += buffer[0..<n] }
        }
    }

    /// The answer as received so far.
    func answer() throws -> HTTPAnswer { try HTTPAnswer(received, complete: closedByPeer) }

    /// The body received so far ("" before the head is complete), for messages.
    var bodyText: String { (try? answer().body) ?? "" }
}

/// An HTTP answer: status, headers (names lowercased), and the body with the chunked transfer
/// encoding taken off (the chunks received so far, for a stream still open).
struct HTTPAnswer {
    struct Incomplete: Error {}
    var status: Int
    var headers: [String: String]
    var body: String

    init(_ data: [UInt8], complete: Bool) throws {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard data.count >= 4, let split = (0...(data.count - 4)).first(where: { Array(data[$0..<($0 + 4)]) == separator }) else {
            throw Incomplete()
        }
        let head = String(decoding: data[..<split], as: UTF8.self).components(separatedBy: "\r\n")
        var body = Array(data[(split + 4)...])
        guard head[0].split(separator: " ").count >= 2, let status = Int(head[0].split(separator: " ")[1]) else {
            throw Incomplete()
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if headers["transfer-encoding"] == "chunked" {
            var out: [UInt8] = []
            var rest = body[...]
            while let crlf = (rest.startIndex..<max(rest.startIndex, rest.endIndex - 1)).first(where: { rest[$0] == 13 && rest[$0 + 1] == 10 }) {
                let size = Int(String(decoding: rest[rest.startIndex..<crlf], as: UTF8.self), radix: 16) ?? 0
                if size == 0 || crlf + 2 + size > rest.endIndex { break }
                out += rest[(crlf + 2)..<(crlf + 2 + size)]
                rest = rest[min(rest.endIndex, crlf + 2 + size + 2)...]
            }
            body = out
        } else if complete, let length = headers["content-length"].flatMap(Int.init), body.count != length {
            throw Incomplete()
        }
        self.status = status
        self.headers = headers
        self.body = String(decoding: body, as: UTF8.self)
    }

    /// The body as a JSON object.
    var object: [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]
    }

    /// The `error.parameter` of a JSON error document.
    var errorParameter: String? { (object?["error"] as? [String: Any])?["parameter"] as? String }
}

/// One whole request and its answer (the connection closed after it).
func httpRequest(
    port: Int, _ method: String, _ target: String, headers: [String: String] = [:], body: [UInt8] = []
) throws -> HTTPAnswer {
    let connection = try HTTPConnection(port: port)
    try connection.send(method, target, headers: headers, body: body)
    connection.receive(seconds: 30)
    return try connection.answer()
}
