// Clang thread-safety annotations (-Wthread-safety), as macros that expand to
// nothing on other compilers. They turn the locking comments of a class into
// something the compiler checks: a member LCSWEEP_GUARDED_BY(mu_) may only be
// touched with mu_ held, a method LCSWEEP_REQUIRES(mu_) only called with it
// held. deploy/test.sh runs clang with -Wthread-safety -Werror over the
// annotated sources, so a drifted lock comment fails the build.
// Use with lcsweep::Mutex / MutexLock (common/mutex.h): libstdc++'s
// std::mutex carries no annotations.
#pragma once

#if defined(__clang__)
#define LCSWEEP_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define LCSWEEP_THREAD_ANNOTATION(x)
#endif

#define LCSWEEP_CAPABILITY(x) LCSWEEP_THREAD_ANNOTATION(capability(x))
#define LCSWEEP_SCOPED_CAPABILITY LCSWEEP_THREAD_ANNOTATION(scoped_lockable)
#define LCSWEEP_GUARDED_BY(x) LCSWEEP_THREAD_ANNOTATION(guarded_by(x))
#define LCSWEEP_PT_GUARDED_BY(x) LCSWEEP_THREAD_ANNOTATION(pt_guarded_by(x))
#define LCSWEEP_ACQUIRED_BEFORE(...) LCSWEEP_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define LCSWEEP_REQUIRES(...) LCSWEEP_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define LCSWEEP_EXCLUDES(...) LCSWEEP_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define LCSWEEP_ACQUIRE(...) LCSWEEP_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define LCSWEEP_RELEASE(...) LCSWEEP_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define LCSWEEP_RETURN_CAPABILITY(x) LCSWEEP_THREAD_ANNOTATION(lock_returned(x))
#define LCSWEEP_NO_THREAD_SAFETY_ANALYSIS LCSWEEP_THREAD_ANNOTATION(no_thread_safety_analysis)
