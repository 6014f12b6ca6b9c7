/// A registered community's fixed facts, pre-encoded as UTF-8 for fast output.
struct Community {
    let id: [UInt8]
    let name: [UInt8]        // "Пирятинська міська громада"
    let genitive: [UInt8]    // "Пирятинської міської громади"
    let council: [UInt8]     // "Пирятинська міська рада"
    let centre: [UInt8]      // "Пирятин"
    let oblast: Int          // index into Lexicon.oblasts
    let kind: Lexicon.Kind
    let settlements: Int
    let population: Int
    let address: [UInt8]?
    let phone: [UInt8]?
    let email: [UInt8]?
    let website: [UInt8]?
    let head: [UInt8]?
}

enum CommunityFactory {
    /// `count` communities: the six towns first, Kyiv, then every other oblast (at least one
    /// each), in proportion to its real number of communities; the order after the six is
    /// the registration order.
    static func make(count: Int, rng: inout Xoshiro256) -> [Community] {
        var usedIds = Set<String>()
        var usedNames = Set<String>()
        var six: [Community] = []
        var rest: [Community] = []

        func add(_ adjective: String, _ centre: String, _ kind: Lexicon.Kind, _ oblast: Int, _ population: Int,
                 _ settlements: Int, to list: inout [Community]) {
            usedNames.insert(adjective + "|" + String(oblast))
            let o = Lexicon.oblasts[oblast]
            var id = Lexicon.translit(adjective)
            if usedIds.contains(id) { id += "-" + o.code.dropFirst(3) }
            var n = 2
            let base = id
            while usedIds.contains(id) {
                id = base + "-" + String(n)
                n += 1
            }
            usedIds.insert(id)
            let kindWord = Lexicon.kindAdjective(kind)
            let name = adjective + " " + kindWord + " громада"
            let council = adjective + " " + kindWord + " рада"
            let address: String? = rng.chance(0.9) ? {
                let street = Lexicon.streets[rng.int(Lexicon.streets.count)]
                let house = rng.range(1, 60)
                var postcode: [UInt8] = []
                JSONOut.appendPadded(o.postal * 1000 + rng.range(0, 2999), width: 5, into: &postcode)
                let place = o.isCity ? "м. " + centre : Lexicon.settlementPrefix(kind) + " " + centre + ", " + o.name + " обл."
                return street + ", " + String(house) + ", " + place + ", " + String(decoding: postcode, as: UTF8.self)
            }() : nil
            let phone: String? = rng.chance(0.85) ? {
                var digits = ""
                for _ in 0..<(9 - o.phone.count) { digits += String(rng.int(10)) }
                let d = Array(digits)
                let tail = String(d[d.count - 4..<d.count - 2]) + " " + String(d[d.count - 2..<d.count])
                return "+380 " + o.phone + " " + String(d[0..<d.count - 4]) + " " + tail
            }() : nil
            let email: String? = rng.chance(0.9) ? "rada@" + id + ".gov.ua" : nil
            let website: String? = rng.chance(0.8) ? "https://" + id + ".gov.ua" : nil
            let head: String? = rng.chance(0.95) ? {
                let female = rng.chance(0.4)
                let first = female ? Lexicon.femaleNames[rng.int(Lexicon.femaleNames.count)] : Lexicon.maleNames[rng.int(Lexicon.maleNames.count)]
                let father = Lexicon.fatherNames[rng.int(Lexicon.fatherNames.count)]
                return Lexicon.surnames[rng.int(Lexicon.surnames.count)] + " " + first + " " + Lexicon.patronymic(father, female: female)
            }() : nil
            list.append(Community(
                id: Array(id.utf8), name: Array(name.utf8), genitive: Array(Lexicon.genitive(adjective: adjective, kind: kind).utf8),
                council: Array(council.utf8), centre: Array(centre.utf8), oblast: oblast, kind: kind,
                settlements: settlements, population: population,
                address: address.map { Array($0.utf8) }, phone: phone.map { Array($0.utf8) },
                email: email.map { Array($0.utf8) }, website: website.map { Array($0.utf8) }, head: head.map { Array($0.utf8) }))
        }

        for t in Lexicon.sixTowns {
            add(t.town.adjective, t.town.centre, .urban, Lexicon.oblastIndex(t.oblast), t.town.population, t.settlements, to: &six)
        }
        let sixNames = Set(Lexicon.sixTowns.map { $0.town.adjective })
        var remaining = max(0, count - six.count)

        // Kyiv city
        let kyiv = Lexicon.oblastIndex("UA-30")
        if remaining > 0 && count >= 30 {
            add("Київська", "Київ", .urban, kyiv, 2_950_000, 1, to: &rest)
            remaining -= 1
        }
        // per-oblast quotas
        let candidates = Lexicon.oblasts.indices.filter { Lexicon.oblasts[$0].weight > 0 }
        var quota = [Int](repeating: 0, count: Lexicon.oblasts.count)
        for o in candidates where remaining > 0 {
            quota[o] += 1
            remaining -= 1
        }
        let weights = candidates.map { Lexicon.oblasts[$0].weight }
        while remaining > 0 {
            quota[candidates[rng.weighted(weights)]] += 1
            remaining -= 1
        }
        for o in candidates where quota[o] > 0 {
            let code = Lexicon.oblasts[o].code
            var real = (Lexicon.towns[code] ?? []).filter { !sixNames.contains($0.adjective) }
            rng.shuffle(&real)
            let urban = min(real.count, max(1, Int(Double(quota[o]) * 0.3 + 0.5)))
            for t in real.prefix(urban) {
                let settlements = t.population > 200_000 ? rng.range(1, 5) : rng.range(3, 45)
                add(t.adjective, t.centre, t.kind, o, t.population, settlements, to: &rest)
            }
            var made = urban
            var attempts = 0
            while made < quota[o] && attempts < 10_000 {
                attempts += 1
                let root = Lexicon.villageRoots[rng.int(Lexicon.villageRoots.count)]
                let stem = String(root.dropLast(2)) + "ська"
                var adjective = stem
                var centre = root
                if rng.chance(0.45) && !root.hasPrefix("Ново") {
                    let (word, prefix) = Lexicon.villagePrefixes[rng.int(Lexicon.villagePrefixes.count)]
                    adjective = prefix + stem.lowercased()
                    centre = word + " " + root
                }
                if usedNames.contains(adjective + "|" + String(o)) { continue }
                let kind: Lexicon.Kind = rng.chance(0.4) ? .settlement : .rural
                let population = kind == .settlement ? rng.range(4_000, 25_000) : rng.range(1_500, 14_000)
                add(adjective, centre, kind, o, population, rng.range(3, 42), to: &rest)
                made += 1
            }
        }
        rng.shuffle(&rest)
        return six + rest
    }
}
