import Foundation
import KernelSpec

/// One configuration of a library built for several machines: a tuned machine's (named by
/// its fingerprint) or the analytical model's for an ISA (`analytical-<isa>`).
public struct MachineConfiguration: Codable, Hashable, Sendable {
    public var name: String
    /// Tuned on the machine `config.machine` describes (else the model's, for any CPU of its ISA).
    public var tuned: Bool
    public var config: KernelsConfig

    public init(name: String, tuned: Bool, config: KernelsConfig) {
        self.name = name; self.tuned = tuned; self.config = config
    }
}

/// `kernels.json` of a library of several configurations.
public struct MultiConfigManifest: Codable, Sendable {
    public var version: String
    public var configurations: [MachineConfiguration]
}

/// A function the library exports, as its generated C defines it.
struct ExportedFunction: Equatable {
    var returnType: String
    var name: String
    /// The parameter list as written (`void` when there is none).
    var parameters: String
    var argumentNames: [String]

    /// The `BT_EXPORT` definitions of a generated `kernels.c`, in order.
    static func all(in source: String) -> [ExportedFunction] {
        let pattern = #"BT_EXPORT\s+([A-Za-z_][^;{}()]*?)\b([A-Za-z_]\w*)\s*\(([^()]*)\)\s*\{"#
        let regex = try! NSRegularExpression(pattern: pattern)
        let text = source as NSString
        return regex.matches(in: source, range: NSRange(location: 0, length: text.length)).map { m in
            let params = text.substring(with: m.range(at: 3)).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
                .joined(separator: " ")
            let names = params == "void" ? [] : params.split(separator: ",").map { p -> String in
                String(p.trimmingCharacters(in: .whitespaces).reversed().prefix { $0.isLetter || $0.isNumber || $0 == "_" }.reversed())
            }
            return ExportedFunction(returnType: text.substring(with: m.range(at: 1)).trimmingCharacters(in: .whitespaces),
                                    name: text.substring(with: m.range(at: 2)), parameters: params, argumentNames: names)
        }
    }

    /// `name` declared as `symbol` (a prototype, or with `(*symbol)` a pointer field).
    func declaration(_ symbol: String) -> String {
        "\(returnType)\(returnType.hasSuffix("*") ? "" : " ")\(symbol)(\(parameters))"
    }
}

/// Emits the C of a library holding several configurations (one `libkernels.so` for a mixed
/// cluster, as OpenBLAS's DYNAMIC_ARCH holds kernels for several CPU families). Each
/// configuration's `kernels.c` is compiled as it is, its exported names prefixed by macros;
/// a dispatcher exports the public names and forwards every call to the configuration it
/// chose when first called: this machine's, else the nearest tuned machine of the best ISA
/// the CPU runs, else the analytical model's for that ISA.
struct MultiLibraryEmitter {
    let configurations: [MachineConfiguration]
    let exports: [ExportedFunction]

    /// `exportsOf`: a generated `kernels.c` whose exported functions the library forwards.
    init(configurations: [MachineConfiguration], exportsOf source: String) {
        self.configurations = configurations
        self.exports = ExportedFunction.all(in: source)
    }

    static func prefix(_ index: Int) -> String { "bt_m\(index)_" }

    /// Configuration `index`'s source: its `kernels.c` with every exported name prefixed.
    func configurationSource(_ index: Int, kernelsC: String) -> String {
        let p = Self.prefix(index)
        let renames = exports.map { "#define \($0.name) \(p)\($0.name)" }.joined(separator: "\n")
        return """
            /* Configuration \(index) of a library of several: \(configurations[index].name). Its exported
               names are prefixed with \(p); the dispatcher (kernels-dispatch.c) exports the public ones. */
            #define BT_MULTI_CONFIG 1
            #define BT_EXPORT __attribute__((visibility("hidden")))
            \(renames)

            \(kernelsC)
            """
    }

    /// The dispatcher: the configuration table, the choice, and one forwarder per export.
    var dispatcher: String {
        let forwarded = exports.filter { $0.name != "bt_config" }
        let prototypes = configurations.indices.flatMap { i in forwarded.map { $0.declaration(Self.prefix(i) + $0.name) + ";" } }
        let fields = forwarded.map { "    " + $0.declaration("(*\($0.name))") + ";" }.joined(separator: "\n")
        let tables = configurations.indices.map { i in
            "    { " + forwarded.map { Self.prefix(i) + $0.name }.joined(separator: ", ") + " },"
        }.joined(separator: "\n")
        let isaRank = Dictionary(uniqueKeysWithValues: ISA.allCases.enumerated().map { ($0.element, ISA.allCases.count - $0.offset) })
        let requirements = configurations.indices.map { i -> String in
            let flags = configurations[i].config.library.isa.requiredCPUFlags
            return "static const char *const bt_required_\(i)[] = { \((flags.map { "\"\($0)\"" } + ["NULL"]).joined(separator: ", ")) };"
        }.joined(separator: "\n")
        let infos = configurations.enumerated().map { i, c -> String in
            let m = c.config.machine
            let size = { (level: Int) in Int64(m.cache(level: level)?.sizeBytes ?? 0) }
            return "    { \(lit(c.name)), \(lit(c.config.origin + " " + c.config.library.isa.rawValue + " configuration")), \(c.tuned ? 1 : 0), "
                + "\(lit(c.config.library.isa.rawValue)), \(isaRank[c.config.library.isa]!), bt_required_\(i), \(lit(m.vendor)), \(lit(m.cpuModel)), "
                + "\(m.family), \(m.model), \(m.cores), \(size(1)), \(size(2)), \(size(3)) },"
        }.joined(separator: "\n")
        let isas = ISA.allCases.map { isa in
            "    { \(lit(isa.rawValue)), \(isaRank[isa]!), (const char *const[]){ \((isa.requiredCPUFlags.map { "\"\($0)\"" } + ["NULL"]).joined(separator: ", ")) } },"
        }.joined(separator: "\n")
        let forwarders = forwarded.map { f in
            "BT_EXPORT \(f.declaration(f.name))\n{\n    \(f.returnType == "void" ? "" : "return ")bt_active_table()->\(f.name)(\(f.argumentNames.joined(separator: ", ")));\n}"
        }.joined(separator: "\n\n")
        return """
            /* Generated by blastune: the dispatcher of a library of \(configurations.count) configurations
               (\(configurations.map(\.name).joined(separator: ", "))).
               Do not edit: regenerate with `blastune generate --machines`. */
            #define _GNU_SOURCE 1
            #include <stdint.h>
            #include <stddef.h>
            #include <stdio.h>
            #include <stdlib.h>
            #include <string.h>
            #include <unistd.h>
            #include <pthread.h>
            #include "kernels.h"

            #define BT_EXPORT __attribute__((visibility("default")))

            \(MachineIdEmitter.source)

            /* ---- the configurations ---- */

            \(prototypes.joined(separator: "\n"))

            typedef struct {
            \(fields)
            } bt_entry_table;

            static const bt_entry_table bt_tables[\(configurations.count)] = {
            \(tables)
            };

            \(requirements)

            typedef struct {
                const char *name, *label;
                int tuned;
                const char *isa;
                int isa_rank;
                const char *const *required;
                const char *vendor, *cpu_model;
                long long family, model, cores, l1, l2, l3;
            } bt_config_info;

            static const bt_config_info bt_configs[\(configurations.count)] = {
            \(infos)
            };

            /* The ISAs, widest first, with the CPU flags each needs. */
            static const struct { const char *name; int rank; const char *const *required; } bt_isas[\(ISA.allCases.count)] = {
            \(isas)
            };

            /* ---- the choice ---- */

            static int bt_host_has(const bt_host_profile *h, const char *const *required)
            {
                for (; *required; required++) {
                    int found = 0;
                    for (int i = 0; i < h->nflags; i++) found |= strcmp(h->flags[i], *required) == 0;
                    if (!found) return 0;
                }
                return 1;
            }

            static long long bt_lg_distance(long long a, long long b)
            {
                if (a <= 0 || b <= 0) return a == b ? 0 : 4;
                int la = 63 - __builtin_clzll((unsigned long long)a), lb = 63 - __builtin_clzll((unsigned long long)b);
                return la > lb ? la - lb : lb - la;
            }

            /* How far a tuned machine is from this one: vendor, family and model first, then the
               caches the blocking was tuned for (L2 most), then the core count. */
            static long long bt_distance(const bt_config_info *c, const bt_host_profile *h)
            {
                return 1000 * (strcmp(c->vendor, h->vendor) != 0) + 300 * (c->family != h->family) + 100 * (c->model != h->model)
                    + 10 * (strcmp(c->cpu_model, h->cpu_model) != 0) + 8 * bt_lg_distance(c->l2, bt_host_cache_size(h, 2)) + 4 * bt_lg_distance(c->l1, bt_host_cache_size(h, 1))
                    + 2 * bt_lg_distance(c->l3, bt_host_cache_size(h, 3)) + bt_lg_distance(c->cores, h->cores);
            }

            static int bt_active = 0;
            static char bt_config_line[1536];
            static pthread_once_t bt_choice_once = PTHREAD_ONCE_INIT;

            static void bt_choose(void)
            {
                bt_host_profile h;
                char host[192], why[1024];
                bt_host_read(&h);
                const char *forced = getenv("BLASTUNE_FINGERPRINT");
                snprintf(host, sizeof host, "%s", forced && *forced ? forced : h.fingerprint);
                const char *best_isa = "generic";
                int best_rank = 0;
                for (int i = 0; i < \(ISA.allCases.count); i++)
                    if (bt_isas[i].rank > best_rank && bt_host_has(&h, bt_isas[i].required)) { best_rank = bt_isas[i].rank; best_isa = bt_isas[i].name; }
                int chosen = -1, tuned_of_isa = 0;
                for (int i = 0; i < \(configurations.count) && chosen < 0; i++)
                    if (bt_configs[i].tuned && strcmp(bt_configs[i].name, host) == 0 && bt_host_has(&h, bt_configs[i].required)) {
                        chosen = i;
                        snprintf(why, sizeof why, "tuned on this machine");
                    }
                if (chosen < 0) {
                    long long best = -1;
                    for (int i = 0; i < \(configurations.count); i++) {
                        if (!bt_configs[i].tuned || bt_configs[i].isa_rank != best_rank) continue;
                        tuned_of_isa++;
                        long long d = bt_distance(&bt_configs[i], &h);
                        if (best < 0 || d < best) { best = d; chosen = i; }
                    }
                    if (chosen >= 0) {
                        const bt_config_info *c = &bt_configs[chosen];
                        snprintf(why, sizeof why, "no configuration tuned on this machine; the nearest of %d tuned %s machine(s): "
                                 "vendor %s, family %lld (here %lld), model %lld (here %lld), L2 %lld KiB (here %lld KiB), %lld cores (here %lld)",
                                 tuned_of_isa, best_isa, strcmp(c->vendor, h.vendor) == 0 ? "the same" : c->vendor, c->family, h.family,
                                 c->model, h.model, c->l2 >> 10, bt_host_cache_size(&h, 2) >> 10, c->cores, h.cores);
                    }
                }
                for (int i = 0; i < \(configurations.count) && chosen < 0; i++)
                    if (!bt_configs[i].tuned && bt_configs[i].isa_rank == best_rank) {
                        chosen = i;
                        snprintf(why, sizeof why, "no tuned %s machine in this library; the analytical model's kernels for %s", best_isa, best_isa);
                    }
                if (chosen < 0) {   /* no configuration of the CPU's best ISA: the widest one it runs */
                    for (int i = 0; i < \(configurations.count); i++)
                        if (bt_host_has(&h, bt_configs[i].required) && (chosen < 0 || bt_configs[i].isa_rank > bt_configs[chosen].isa_rank)) chosen = i;
                    snprintf(why, sizeof why, chosen >= 0 ? "no configuration for %s in this library; the widest this CPU runs"
                                                          : "no configuration in this library runs on this CPU (best ISA %s): every call returns BT_EUNSUPPORTED", best_isa);
                    if (chosen < 0) chosen = 0;
                }
                bt_active = chosen;
                snprintf(bt_config_line, sizeof bt_config_line, "%s (%s): %s; this machine: %s", bt_configs[chosen].name,
                         bt_configs[chosen].label, why, host);
            }

            static inline const bt_entry_table *bt_active_table(void)
            {
                pthread_once(&bt_choice_once, bt_choose);
                return &bt_tables[bt_active];
            }

            BT_EXPORT const char *bt_config(void)
            {
                bt_active_table();
                return bt_config_line;
            }

            /* BLASTUNE_VERBOSE=1: the active configuration and its Fortran GEMM count at exit. */
            __attribute__((destructor)) static void bt_report_multi(void)
            {
                const char *v = getenv("BLASTUNE_VERBOSE");
                if (!v || !*v || strcmp(v, "0") == 0) return;
                const bt_entry_table *t = bt_active_table();
                fprintf(stderr, "blastune: %s\\n", bt_config_line);
                fprintf(stderr, "blastune: %llu Fortran GEMM calls (sgemm_, dgemm_, sgemm_64_, dgemm_64_) ran on the tuned kernels\\n",
                        (unsigned long long)t->bt_fortran_calls());
            }

            /* ---- the exported functions, forwarded to the active configuration ---- */

            \(forwarders)

            """
    }

    private func lit(_ s: String) -> String { RuntimeEmitter.cStringLiteral(s).trimmingCharacters(in: .whitespacesAndNewlines) }
}
