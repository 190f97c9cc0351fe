import Foundation
import MicroKernels

/// The sparse libraries blastune is compared with, when installed: SuiteSparse CSparse
/// (`libcxsparse`, its 64-bit `cs_dl_*` functions) and MKL (`libmkl_rt`: its LP64 entry points
/// on 32-bit indices, its ILP64 `_64` ones on 64-bit indices).
/// They are reached through a small C shim built once into the library cache (MKL passes
/// structs by value, which Swift cannot call directly); the shim `dlopen`s each library.
public final class SparsePeers: @unchecked Sendable {
    public let csparsePath: String?
    public let mklPath: String?
    private let handle: UnsafeMutableRawPointer

    typealias CsTranspose = @convention(c) (Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?, UnsafePointer<Double>?, Int32) -> Int32
    typealias CsCsc = @convention(c) (Int64, Int64, UnsafePointer<Int64>?, UnsafePointer<Int64>?, UnsafePointer<Double>?) -> OpaquePointer?
    typealias CsGaxpy = @convention(c) (OpaquePointer?, UnsafePointer<Double>?, UnsafeMutablePointer<Double>?) -> Int32
    /// (nrows, ncols, rp, ci, val, dtype 0/1, hint 0 none / 1 SpMV / k SpMM, layout, index32).
    typealias MklCreate = @convention(c) (Int64, Int64, UnsafeRawPointer?, UnsafeRawPointer?, UnsafeRawPointer?, Int32, Int64, Int32, Int32) -> OpaquePointer?
    typealias MklMv = @convention(c) (OpaquePointer?, Int32, Double, UnsafeRawPointer?, Double, UnsafeMutableRawPointer?) -> Int32
    /// (handle, dtype, layout, k, alpha, x, ldx, beta, y, ldy).
    typealias MklMm = @convention(c) (OpaquePointer?, Int32, Int32, Int64, Double, UnsafeRawPointer?, Int64, Double, UnsafeMutableRawPointer?, Int64) -> Int32
    typealias MklTranspose = @convention(c) (OpaquePointer?) -> Int32
    typealias Destroy = @convention(c) (OpaquePointer?) -> Void

    let csTranspose: CsTranspose
    let csCsc: CsCsc
    let csGaxpy: CsGaxpy
    let csFree: Destroy
    let mklCreate: MklCreate
    let mklMv: MklMv
    let mklMm: MklMm
    let mklTranspose: MklTranspose
    let mklDestroy: Destroy
    let mklThreads: @convention(c) (Int32) -> Void

    /// Builds (or reuses) the shim and opens whichever peers are installed.
    public init(cache: LibraryCache = LibraryCache()) throws {
        let dir = cache.root.appendingPathComponent("peers-" + stableHash([Self.shim, cache.builder.toolchain.cc]))
        let lib = dir.appendingPathComponent("libbtpeers.so")
        if !FileManager.default.fileExists(atPath: lib.path) {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let src = dir.appendingPathComponent("peers.c")
            try Data(Self.shim.utf8).write(to: src)
            let tmp = dir.appendingPathComponent("libbtpeers.so.tmp-\(getpid())")
            try cache.builder.toolchain.buildSharedLibrary(sources: [src], output: tmp, openMP: false, extraFlags: ["-O2"])
            try AtomicFile.replace(lib, with: tmp)
        }
        guard let h = dlopen(lib.path, RTLD_NOW | RTLD_LOCAL) else {
            throw KernelLibrary.LoadError(path: lib.path, reason: dlerror().map { String(cString: $0) } ?? "dlopen failed")
        }
        handle = h
        func sym<T>(_ name: String, _: T.Type) throws -> T {
            guard let p = dlsym(h, name) else { throw KernelLibrary.LoadError(path: lib.path, reason: "missing \(name)") }
            return unsafeBitCast(p, to: T.self)
        }
        let open = try sym("btp_open", (@convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32).self)
        let cs = Self.locate(["libcxsparse.so.4", "libcxsparse.so.3", "libcxsparse.so"])
        let mkl = Self.locate(["libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"])
        let opened = open(cs, mkl)
        csparsePath = opened & 1 != 0 ? cs : nil
        mklPath = opened & 2 != 0 ? mkl : nil
        csTranspose = try sym("btp_cs_transpose", CsTranspose.self)
        csCsc = try sym("btp_cs_csc", CsCsc.self)
        csGaxpy = try sym("btp_cs_gaxpy", CsGaxpy.self)
        csFree = try sym("btp_cs_free", Destroy.self)
        mklCreate = try sym("btp_mkl_create", MklCreate.self)
        mklMv = try sym("btp_mkl_mv", MklMv.self)
        mklMm = try sym("btp_mkl_mm", MklMm.self)
        mklTranspose = try sym("btp_mkl_transpose", MklTranspose.self)
        mklDestroy = try sym("btp_mkl_destroy", Destroy.self)
        mklThreads = try sym("btp_mkl_threads", (@convention(c) (Int32) -> Void).self)
    }

    /// The first of `names` that loads: by the loader's search, then in the lib folder of
    /// python3's prefix (where `pip install mkl` puts MKL), then $MKLROOT/lib.
    static func locate(_ names: [String]) -> String? {
        for d in searchDirectories { for n in names where dlopen(d + n, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD) != nil || dlopen(d + n, RTLD_LAZY | RTLD_LOCAL | RTLD_DEEPBIND) != nil { return d + n } }
        return nil
    }

    /// Where `locate` looks, computed once (finding python3's prefix runs a process).
    static let searchDirectories: [String] = {
        var dirs = [""]
        if let prefix = try? runCommand(["python3", "-c", "import sys; print(sys.prefix)"]), prefix.status == 0 {
            dirs.append(prefix.output.trimmingCharacters(in: .whitespacesAndNewlines) + "/lib/")
        }
        if let root = ProcessInfo.processInfo.environment["MKLROOT"] { dirs.append(root + "/lib/") }
        return dirs
    }()

    /// MKL's thread count for later calls.
    public func setMKLThreads(_ n: Int) { mklThreads(Int32(n)) }

    /// The C shim: minimal declarations of the peers' types and functions, loaded by dlopen.
    static let shim = """
        /* blastune: calls into CSparse (cs_dl_*) and MKL sparse (LP64 and ILP64) through dlopen. */
        #include <dlfcn.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>

        typedef struct { int64_t nzmax, m, n; int64_t *p, *i; double *x; int64_t nz; } cs_dl;
        static cs_dl *(*cs_transpose)(const cs_dl *, int64_t);
        static cs_dl *(*cs_spfree)(cs_dl *);
        static int64_t (*cs_gaxpy)(const cs_dl *, const double *, double *);

        typedef void *sparse_matrix_t;
        struct matrix_descr { int type, mode, diag; };
        static void (*mkl_threads)(int);
        /* MKL's sparse functions of one interface, IT its MKL_INT: int (LP64, the plain names)
           or int64_t (ILP64, the _64 names). */
        #define MKL_API(IT) struct { \\
            int (*create_d)(sparse_matrix_t *, int, IT, IT, IT *, IT *, IT *, double *); \\
            int (*create_s)(sparse_matrix_t *, int, IT, IT, IT *, IT *, IT *, float *); \\
            int (*mv_d)(int, double, const sparse_matrix_t, struct matrix_descr, const double *, double, double *); \\
            int (*mv_s)(int, float, const sparse_matrix_t, struct matrix_descr, const float *, float, float *); \\
            int (*mm_d)(int, double, const sparse_matrix_t, struct matrix_descr, int, const double *, IT, IT, double, double *, IT); \\
            int (*mm_s)(int, float, const sparse_matrix_t, struct matrix_descr, int, const float *, IT, IT, float, float *, IT); \\
            int (*mv_hint)(sparse_matrix_t, int, struct matrix_descr, IT); \\
            int (*mm_hint)(sparse_matrix_t, int, struct matrix_descr, int, IT, IT); \\
            int (*optimize)(sparse_matrix_t); \\
            int (*convert)(const sparse_matrix_t, int, sparse_matrix_t *); \\
            int (*destroy)(sparse_matrix_t); }
        static MKL_API(int) lp;
        static MKL_API(int64_t) ilp;
        /* A handle and the interface it belongs to. */
        typedef struct { sparse_matrix_t a; int ilp64; } btp_mkl_handle;
        /* The function of the handle's interface (arguments convert to its MKL_INT). */
        #define MKL(h, fn, ...) ((h)->ilp64 ? ilp.fn(__VA_ARGS__) : lp.fn(__VA_ARGS__))

        #define LOAD(h, var, name) (*(void **)&var = dlsym(h, name))
        #define LOAD_API(h, m, sfx) (LOAD(h, m.create_d, "mkl_sparse_d_create_csr" sfx) && LOAD(h, m.create_s, "mkl_sparse_s_create_csr" sfx) \\
            && LOAD(h, m.mv_d, "mkl_sparse_d_mv" sfx) && LOAD(h, m.mv_s, "mkl_sparse_s_mv" sfx) && LOAD(h, m.mm_d, "mkl_sparse_d_mm" sfx) \\
            && LOAD(h, m.mm_s, "mkl_sparse_s_mm" sfx) && LOAD(h, m.mv_hint, "mkl_sparse_set_mv_hint" sfx) \\
            && LOAD(h, m.mm_hint, "mkl_sparse_set_mm_hint" sfx) && LOAD(h, m.optimize, "mkl_sparse_optimize" sfx) \\
            && LOAD(h, m.convert, "mkl_sparse_convert_csr" sfx) && LOAD(h, m.destroy, "mkl_sparse_destroy" sfx))

        /* Opens the peers given (NULL: absent). Returns bit 0 for CSparse, bit 1 for MKL. */
        __attribute__((visibility("default"))) int btp_open(const char *csparse, const char *mklpath)
        {
            int ok = 0;
            void *h = csparse ? dlopen(csparse, RTLD_NOW | RTLD_LOCAL) : NULL;
            if (h && LOAD(h, cs_transpose, "cs_dl_transpose") && LOAD(h, cs_spfree, "cs_dl_spfree") && LOAD(h, cs_gaxpy, "cs_dl_gaxpy")) ok |= 1;
            h = mklpath ? dlopen(mklpath, RTLD_NOW | RTLD_LOCAL) : NULL;
            int (*threading)(int) = NULL;
            if (h && LOAD(h, threading, "MKL_Set_Threading_Layer")) threading(\(GemmPeer.mklThreadingGNU)); /* MKL_THREADING_GNU: share libgomp */
            /* Both interfaces by name: the unsuffixed LP64 ones and the _64 ILP64 ones.
               MKL_Set_Interface_Layer would switch the whole process to 64-bit MKL_INT, and
               cblas_?gemm called by a GEMM peer in the same process would then read its 32-bit
               arguments as 64-bit ones. */
            if (h && LOAD(h, mkl_threads, "MKL_Set_Num_Threads") && LOAD_API(h, lp, "") && LOAD_API(h, ilp, "_64")) {
                void (*dynamic)(int) = NULL;
                /* MKL turns on dynamic thread adjustment of the shared OpenMP runtime, which then
                   gives every team (ours included) fewer threads under load: keep counts exact. */
                if (LOAD(h, dynamic, "MKL_Set_Dynamic")) dynamic(0);
                ok |= 2;
            }
            return ok;
        }

        /* A CSR matrix seen by CSparse: the CSC of its transpose (no copy). */
        static cs_dl csc_of_transpose(int64_t nrows, int64_t ncols, const int64_t *rp, const int64_t *ci, const double *val)
        {
            cs_dl a = { rp[nrows], ncols, nrows, (int64_t *)rp, (int64_t *)ci, (double *)val, -1 };
            return a;
        }

        /* cs_dl_transpose of the CSR (the same work as a CSR transpose), its result freed. */
        __attribute__((visibility("default"))) int btp_cs_transpose(int64_t nrows, int64_t ncols, const int64_t *rp,
            const int64_t *ci, const double *val, int values)
        {
            cs_dl a = csc_of_transpose(nrows, ncols, rp, ci, val);
            cs_dl *t = cs_transpose(&a, values);
            if (!t) return 1;
            cs_spfree(t);
            return 0;
        }

        /* The CSC form of the CSR matrix (built once, for cs_dl_gaxpy). */
        __attribute__((visibility("default"))) void *btp_cs_csc(int64_t nrows, int64_t ncols, const int64_t *rp,
            const int64_t *ci, const double *val)
        {
            cs_dl a = csc_of_transpose(nrows, ncols, rp, ci, val);
            return cs_transpose(&a, 1);
        }

        /* y = A x + y with A in CSC form. */
        __attribute__((visibility("default"))) int btp_cs_gaxpy(void *a, const double *x, double *y)
        {
            return cs_gaxpy((const cs_dl *)a, x, y) ? 0 : 1;
        }

        __attribute__((visibility("default"))) void btp_cs_free(void *a) { if (a) cs_spfree((cs_dl *)a); }

        __attribute__((visibility("default"))) void btp_mkl_threads(int n) { if (mkl_threads) mkl_threads(n); }

        /* An MKL handle on the CSR arrays (no copy): int32_t rp and ci through the LP64
           interface when index32, else int64_t through ILP64. hint: 0 none, 1 SpMV, k > 1 SpMM
           with k columns of row-major (layout 101) or column-major (102) X; with a hint,
           mkl_sparse_optimize. dtype 0 float, 1 double. */
        __attribute__((visibility("default"))) void *btp_mkl_create(int64_t nrows, int64_t ncols, const void *rp,
            const void *ci, const void *val, int dtype, int64_t hint, int layout, int index32)
        {
            btp_mkl_handle *h = calloc(1, sizeof *h);
            if (!h) return NULL;
            h->ilp64 = !index32;
            struct matrix_descr d = { 20, 0, 0 }; /* general */
            int st;
            if (index32) {
                int *r = (int *)rp;
                st = dtype ? lp.create_d(&h->a, 0, (int)nrows, (int)ncols, r, r + 1, (int *)ci, (double *)val)
                           : lp.create_s(&h->a, 0, (int)nrows, (int)ncols, r, r + 1, (int *)ci, (float *)val);
            } else {
                int64_t *r = (int64_t *)rp;
                st = dtype ? ilp.create_d(&h->a, 0, nrows, ncols, r, r + 1, (int64_t *)ci, (double *)val)
                           : ilp.create_s(&h->a, 0, nrows, ncols, r, r + 1, (int64_t *)ci, (float *)val);
            }
            if (st != 0) { free(h); return NULL; }
            if (hint == 1) MKL(h, mv_hint, h->a, 10, d, 1000);
            if (hint > 1) MKL(h, mm_hint, h->a, 10, d, layout, hint, 1000);
            if (hint) MKL(h, optimize, h->a);
            return h;
        }

        __attribute__((visibility("default"))) int btp_mkl_mv(void *hp, int dtype, double alpha, const void *x, double beta, void *y)
        {
            btp_mkl_handle *h = hp;
            struct matrix_descr d = { 20, 0, 0 };
            return dtype ? MKL(h, mv_d, 10, alpha, h->a, d, (const double *)x, beta, (double *)y)
                         : MKL(h, mv_s, 10, (float)alpha, h->a, d, (const float *)x, (float)beta, (float *)y);
        }

        /* Y = alpha A X + beta Y, X and Y with k columns in `layout` (101 row-, 102 column-major). */
        __attribute__((visibility("default"))) int btp_mkl_mm(void *hp, int dtype, int layout, int64_t k, double alpha,
            const void *x, int64_t ldx, double beta, void *y, int64_t ldy)
        {
            btp_mkl_handle *h = hp;
            struct matrix_descr d = { 20, 0, 0 };
            return dtype ? MKL(h, mm_d, 10, alpha, h->a, d, layout, (const double *)x, k, ldx, beta, (double *)y, ldy)
                         : MKL(h, mm_s, 10, (float)alpha, h->a, d, layout, (const float *)x, k, ldx, (float)beta, (float *)y, ldy);
        }

        /* The transposed CSR (mkl_sparse_convert_csr with SPARSE_OPERATION_TRANSPOSE), destroyed. */
        __attribute__((visibility("default"))) int btp_mkl_transpose(void *hp)
        {
            btp_mkl_handle *h = hp;
            sparse_matrix_t t = NULL;
            int st = MKL(h, convert, h->a, 11, &t);
            if (t) MKL(h, destroy, t);
            return st;
        }

        __attribute__((visibility("default"))) void btp_mkl_destroy(void *hp)
        {
            btp_mkl_handle *h = hp;
            if (!h) return;
            MKL(h, destroy, h->a);
            free(h);
        }

        """
}
