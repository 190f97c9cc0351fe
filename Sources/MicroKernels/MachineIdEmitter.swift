import KernelSpec

/// Emits C that reads the host's profile and computes its fingerprint exactly as
/// ``MachineProfile/current(environment:)`` and ``MachineProfile/fingerprint`` do (the first
/// processor of `/proc/cpuinfo`, the ISA-relevant flags less `BLASTUNE_CPU_MASK`, the online
/// CPUs, the sysfs caches), so that a library can tell at load time which machine it runs on.
enum MachineIdEmitter {
    static var source: String {
        let flags = MachineProfile.relevantFlags.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            /* ---- machine identification: MachineProfile.fingerprint in C ---- */

            #define BT_HOST_MAX_CACHES 8
            #define BT_HOST_MAX_FLAGS 16
            typedef struct {
                char cpu_model[128], vendor[64];
                long long family, model, cores;
                const char *flags[BT_HOST_MAX_FLAGS];   /* the relevant flags present, sorted */
                int nflags;
                struct { long long level, size, ways, line; } cache[BT_HOST_MAX_CACHES];
                int ncaches;
                char fingerprint[192];
            } bt_host_profile;

            /* The size of the host's cache at `level`, or 0. */
            __attribute__((unused)) static long long bt_host_cache_size(const bt_host_profile *h, long long level)
            {
                for (int i = 0; i < h->ncaches; i++) if (h->cache[i].level == level) return h->cache[i].size;
                return 0;
            }

            static const char *const bt_relevant_flags[] = { \(flags) };

            /* Copies s without leading and trailing spaces, tabs and newlines into out. */
            static void bt_host_trim(const char *s, size_t len, char *out, size_t cap)
            {
                while (len > 0 && (*s == ' ' || *s == '\\t' || *s == '\\n')) { s++; len--; }
                while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\\t' || s[len - 1] == '\\n')) len--;
                if (len >= cap) len = cap - 1;
                memcpy(out, s, len);
                out[len] = 0;
            }

            /* A whole decimal integer (optional sign), as Swift's Int(String); 0 when it is not one. */
            static long long bt_host_int(const char *s, int *ok)
            {
                char *end;
                if (!*s || *s == ' ') { if (ok) *ok = 0; return 0; }
                long long v = strtoll(s, &end, 10);
                if (ok) *ok = *end == 0;
                return *end == 0 ? v : 0;
            }

            /* The trimmed first line of a small file into out; 0 when it cannot be read. */
            static int bt_host_file(const char *path, char *out, size_t cap)
            {
                FILE *f = fopen(path, "r");
                if (!f) return 0;
                char buf[256];
                size_t n = fread(buf, 1, sizeof buf - 1, f);
                fclose(f);
                buf[n] = 0;
                bt_host_trim(buf, n, out, cap);
                return 1;
            }

            static int bt_host_flag_masked(const char *flag)
            {
                const char *mask = getenv("BLASTUNE_CPU_MASK");
                char item[64];
                while (mask && *mask) {
                    const char *end = strchr(mask, ',');
                    size_t len = end ? (size_t)(end - mask) : strlen(mask);
                    bt_host_trim(mask, len, item, sizeof item);
                    if (strcmp(item, flag) == 0) return 1;
                    mask = end ? end + 1 : NULL;
                }
                return 0;
            }

            static void bt_host_read(bt_host_profile *h)
            {
                memset(h, 0, sizeof *h);
                char model[128] = "", part[128] = "", vendor[64] = "", implementer[64] = "", family[32] = "", model_no[32] = "";
                static char flags[8192];
                flags[0] = 0;
                int seen_model = 0, seen_part = 0, seen_vendor = 0, seen_impl = 0, seen_family = 0, seen_no = 0, seen_flags = 0, any = 0;
                FILE *f = fopen("/proc/cpuinfo", "r");
                char *line = NULL;
                size_t cap = 0;
                ssize_t len;
                while (f && (len = getline(&line, &cap, f)) >= 0) {
                    if (len > 0 && line[len - 1] == '\\n') line[--len] = 0;
                    if (len == 0 && any) break;               /* the first processor only */
                    char *colon = strchr(line, ':');
                    if (!colon) continue;
                    char key[64];
                    bt_host_trim(line, (size_t)(colon - line), key, sizeof key);
                    const char *value = colon + 1;
                    size_t vlen = strlen(value);
                    any = 1;
            #define BT_HOST_FIELD(name, seen, dst) \\
                    if (!seen && strcmp(key, name) == 0) { seen = 1; bt_host_trim(value, vlen, dst, sizeof dst); continue; }
                    BT_HOST_FIELD("model name", seen_model, model)
                    BT_HOST_FIELD("CPU part", seen_part, part)
                    BT_HOST_FIELD("vendor_id", seen_vendor, vendor)
                    BT_HOST_FIELD("CPU implementer", seen_impl, implementer)
                    BT_HOST_FIELD("cpu family", seen_family, family)
                    BT_HOST_FIELD("model", seen_no, model_no)
                    if (!seen_flags && (strcmp(key, "flags") == 0 || strcmp(key, "Features") == 0)) {
                        seen_flags = 1;
                        bt_host_trim(value, vlen, flags, sizeof flags);
                    }
            #undef BT_HOST_FIELD
                }
                free(line);
                if (f) fclose(f);
                snprintf(h->cpu_model, sizeof h->cpu_model, "%s", seen_model ? model : seen_part ? part : "unknown");
                snprintf(h->vendor, sizeof h->vendor, "%s", seen_vendor ? vendor : seen_impl ? implementer : "unknown");
                h->family = bt_host_int(family, NULL);
                h->model = bt_host_int(model_no, NULL);
                for (size_t i = 0; i < sizeof bt_relevant_flags / sizeof *bt_relevant_flags && h->nflags < BT_HOST_MAX_FLAGS; i++) {
                    const char *want = bt_relevant_flags[i];
                    size_t n = strlen(want);
                    for (const char *p = flags; *p; ) {
                        const char *end = strchr(p, ' ');
                        size_t l = end ? (size_t)(end - p) : strlen(p);
                        if (l == n && strncmp(p, want, n) == 0 && !bt_host_flag_masked(want)) { h->flags[h->nflags++] = want; break; }
                        if (!end) break;
                        p = end + 1;
                    }
                }
                long cores = sysconf(_SC_NPROCESSORS_ONLN);
                h->cores = cores > 1 ? cores : 1;
                for (int index = 0; index < 8; index++) {
                    char path[96], text[64];
                    int ok;
            #define BT_HOST_CACHE(file) (snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/" file, index), bt_host_file(path, text, sizeof text))
                    if (!BT_HOST_CACHE("type") || strcmp(text, "Instruction") == 0) continue;
                    if (!BT_HOST_CACHE("level")) continue;
                    long long level = bt_host_int(text, &ok);
                    if (!ok || !BT_HOST_CACHE("size")) continue;
                    size_t tl = strlen(text);
                    long long mult = 1;
                    if (tl > 0 && (text[tl - 1] == 'K' || text[tl - 1] == 'M' || text[tl - 1] == 'G')) {
                        mult = text[tl - 1] == 'K' ? 1LL << 10 : text[tl - 1] == 'M' ? 1LL << 20 : 1LL << 30;
                        text[tl - 1] = 0;
                    }
                    long long size = bt_host_int(text, &ok) * mult;
                    if (!ok) continue;
                    long long ways = BT_HOST_CACHE("ways_of_associativity") ? bt_host_int(text, &ok) : (ok = 0);
                    if (!ok) ways = 8;
                    long long line_bytes = BT_HOST_CACHE("coherency_line_size") ? bt_host_int(text, &ok) : (ok = 0);
                    if (!ok) line_bytes = 64;
            #undef BT_HOST_CACHE
                    if (h->ncaches < BT_HOST_MAX_CACHES) {
                        h->cache[h->ncaches].level = level; h->cache[h->ncaches].size = size;
                        h->cache[h->ncaches].ways = ways > 1 ? ways : 1; h->cache[h->ncaches].line = line_bytes;
                        h->ncaches++;
                    }
                }
                if (h->ncaches == 0) {   /* sysfs unavailable: the common x86 hierarchy MachineProfile assumes */
                    const long long d[3][4] = { { 1, 32 << 10, 8, 64 }, { 2, 1 << 20, 16, 64 }, { 3, 8 << 20, 16, 64 } };
                    for (int i = 0; i < 3; i++) {
                        h->cache[i].level = d[i][0]; h->cache[i].size = d[i][1]; h->cache[i].ways = d[i][2]; h->cache[i].line = d[i][3];
                    }
                    h->ncaches = 3;
                }
                for (int i = 1; i < h->ncaches; i++)      /* by level */
                    for (int j = i; j > 0 && h->cache[j - 1].level > h->cache[j].level; j--) {
                        __typeof__(h->cache[0]) t = h->cache[j]; h->cache[j] = h->cache[j - 1]; h->cache[j - 1] = t;
                    }
                /* The fingerprint: FNV-1a over the canonical text, after a slug of the CPU model. */
                char canon[1024];
                int at = snprintf(canon, sizeof canon, "%s|%s|%lld|%lld|%lld", h->cpu_model, h->vendor, h->family, h->model, h->cores);
                for (int i = 0; i < h->nflags && at > 0 && (size_t)at < sizeof canon; i++)
                    at += snprintf(canon + at, sizeof canon - (size_t)at, "|%s", h->flags[i]);
                for (int i = 0; i < h->ncaches && at > 0 && (size_t)at < sizeof canon; i++)
                    at += snprintf(canon + at, sizeof canon - (size_t)at, "|L%lld:%lld:%lld:%lld", h->cache[i].level,
                                   h->cache[i].size, h->cache[i].ways, h->cache[i].line);
                uint64_t hash = 0xcbf29ce484222325ULL;
                for (const unsigned char *p = (const unsigned char *)canon; *p; p++) hash = (hash ^ *p) * 0x100000001b3ULL;
                char slug[128];
                size_t s = 0;
                for (const unsigned char *p = (const unsigned char *)h->cpu_model; *p && s + 1 < sizeof slug; p++) {
                    unsigned char c = *p >= 'A' && *p <= 'Z' ? (unsigned char)(*p + 32) : *p;
                    int keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
                    if (keep) slug[s++] = (char)c;
                    else if (s > 0 && slug[s - 1] != '-') slug[s++] = '-';
                }
                if (s > 0 && slug[s - 1] == '-') s--;
                slug[s] = 0;
                snprintf(h->fingerprint, sizeof h->fingerprint, "%s-%lldc-%016llx", s ? slug : "cpu", h->cores, (unsigned long long)hash);
            }
            """
    }
}
