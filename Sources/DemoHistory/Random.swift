/// SplitMix64: expands the user's seed into the state of the main generator (and picks the
/// benchmark's random points).
package struct SplitMix64 {
    package var state: UInt64

    package init(state: UInt64) { self.state = state }

    package mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256**: small, fast and fully deterministic on every platform (integer arithmetic
/// only), so a seed always gives the same history.
struct Xoshiro256 {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    init(seed: UInt64) {
        var sm = SplitMix64(state: seed)
        s0 = sm.next()
        s1 = sm.next()
        s2 = sm.next()
        s3 = sm.next()
    }

    @inline(__always) mutating func next() -> UInt64 {
        let result = ((s1 &* 5) <<< 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 <<< 45
        return result
    }

    /// Uniform in `0..<n` (multiply-high; the bias is below 2^-40 for our ranges).
    @inline(__always) mutating func int(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(UInt64(n).multipliedFullWidth(by: next()).high)
    }

    /// Uniform in `lo...hi`.
    @inline(__always) mutating func range(_ lo: Int, _ hi: Int) -> Int {
        hi <= lo ? lo : lo + int(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    @inline(__always) mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    @inline(__always) mutating func chance(_ p: Double) -> Bool { unit() < p }

    /// An index chosen with the given weights.
    mutating func weighted(_ weights: [Double]) -> Int {
        var total = 0.0
        for w in weights { total += w }
        var x = unit() * total
        for (i, w) in weights.enumerated() {
            if x < w { return i }
            x -= w
        }
        return weights.count - 1
    }

    /// `k` distinct indices of `0..<n`, in random order.
    mutating func distinct(_ k: Int, of n: Int) -> [Int] {
        var pool = Array(0..<n)
        let k = min(k, n)
        for i in 0..<k {
            let j = i + int(n - i)
            pool.swapAt(i, j)
        }
        return Array(pool[0..<k])
    }

    mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, int(i + 1))
        }
    }
}

infix operator <<< : BitwiseShiftPrecedence

@inline(__always) func <<< (x: UInt64, k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
