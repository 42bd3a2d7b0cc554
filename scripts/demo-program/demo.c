/*
 * threadreel demo program: a small, deliberately boring multi-threaded process
 * whose behaviour is easy to recognise in a profile.
 *
 *   demo-main     dispatcher: enqueues a job every ~4 ms, wakes a worker
 *   worker-0..2   pool: pop jobs and run one of two CPU-bound call paths
 *                   job_primes  -> count_primes -> is_prime
 *                   job_matrix  -> matrix_multiply -> dot_row
 *   lock-holder   grabs `shared_lock`, checksums a buffer while holding it
 *                 (checksum_region), releases it, then sleeps 15 ms
 *   lock-waiter   blocks on `shared_lock` (wait_for_lock) and, once it gets
 *                 it, does a little work (update_totals)
 *
 * Runs for argv[1] seconds (default 2), prints its pid and a checksum, exits 0.
 * Build: gcc -O1 -g -fno-omit-frame-pointer -pthread -o demo demo.c
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NWORKERS 3
#define QUEUE_CAP 64
#define MATRIX_N 48
#define BUFFER_WORDS (1 << 16)

enum job_kind { JOB_PRIMES, JOB_MATRIX };

struct job {
  enum job_kind kind;
  unsigned seed;
};

static struct {
  pthread_mutex_t mu;
  pthread_cond_t nonempty;
  struct job items[QUEUE_CAP];
  unsigned head, tail;
  int closed;
} queue = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {{0, 0}}, 0, 0, 0};

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t shared_buffer[BUFFER_WORDS];
static volatile uint64_t totals[8];
static volatile int stopping;

/* Keep the compiler from inlining the functions we want to see in stacks. */
#define NOINLINE __attribute__((noinline))

/*
 * GCC (12 at least) sets up no frame at all in a leaf function that needs no
 * stack, even with -fno-omit-frame-pointer; perf's frame-pointer unwinder then
 * silently skips that leaf's caller (is_prime -> job_primes, no count_primes).
 * A volatile local forces a stack frame, hence a frame pointer.
 */
#define KEEP_FRAME()                                                                                         \
  volatile int frame_anchor_ = 0;                                                                            \
  (void)frame_anchor_

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- call path 1: primes ---- */

NOINLINE static int is_prime(unsigned n) {
  KEEP_FRAME();
  if (n < 2) return 0;
  for (unsigned d = 2; d * d <= n; d++)
    if (n % d == 0) return 0;
  return 1;
}

NOINLINE static unsigned count_primes(unsigned from, unsigned count) {
  unsigned found = 0;
  for (unsigned n = from; n < from + count; n++) found += (unsigned)is_prime(n);
  return found;
}

NOINLINE static uint64_t job_primes(unsigned seed) {
  return count_primes(1000000u + (seed % 1000u) * 97u, 14000);
}

/* ---- call path 2: matrix multiply ---- */

NOINLINE static double dot_row(const double *a, const double *b, int row, int col) {
  KEEP_FRAME();
  double s = 0;
  for (int k = 0; k < MATRIX_N; k++) s += a[row * MATRIX_N + k] * b[k * MATRIX_N + col];
  return s;
}

NOINLINE static double matrix_multiply(const double *a, const double *b, double *c) {
  double trace = 0;
  for (int i = 0; i < MATRIX_N; i++)
    for (int j = 0; j < MATRIX_N; j++) {
      c[i * MATRIX_N + j] = dot_row(a, b, i, j);
      if (i == j) trace += c[i * MATRIX_N + j];
    }
  return trace;
}

NOINLINE static uint64_t job_matrix(unsigned seed) {
  static __thread double a[MATRIX_N * MATRIX_N], b[MATRIX_N * MATRIX_N], c[MATRIX_N * MATRIX_N];
  for (int i = 0; i < MATRIX_N * MATRIX_N; i++) {
    a[i] = (double)((seed + (unsigned)i) % 17u);
    b[i] = (double)((seed * 3u + (unsigned)i) % 13u);
  }
  double t = 0;
  for (int rep = 0; rep < 64; rep++) t += matrix_multiply(a, b, c);
  return (uint64_t)t;
}

/* ---- work queue ---- */

NOINLINE static void enqueue_job(struct job j) {
  pthread_mutex_lock(&queue.mu);
  if (queue.tail - queue.head < QUEUE_CAP) {
    queue.items[queue.tail % QUEUE_CAP] = j;
    queue.tail++;
  }
  pthread_cond_signal(&queue.nonempty);
  pthread_mutex_unlock(&queue.mu);
}

NOINLINE static int dequeue_job(struct job *out) {
  pthread_mutex_lock(&queue.mu);
  while (queue.head == queue.tail && !queue.closed) pthread_cond_wait(&queue.nonempty, &queue.mu);
  int ok = queue.head != queue.tail;
  if (ok) {
    *out = queue.items[queue.head % QUEUE_CAP];
    queue.head++;
  }
  pthread_mutex_unlock(&queue.mu);
  return ok;
}

NOINLINE static uint64_t run_job(struct job j) {
  switch (j.kind) {
  case JOB_PRIMES:
    return job_primes(j.seed);
  case JOB_MATRIX:
    return job_matrix(j.seed);
  }
  return 0;
}

static void *worker_main(void *arg) {
  char name[16];
  snprintf(name, sizeof name, "worker-%d", (int)(intptr_t)arg);
  pthread_setname_np(pthread_self(), name);
  struct job j;
  uint64_t acc = 0;
  while (dequeue_job(&j)) acc += run_job(j);
  totals[(intptr_t)arg] = acc;
  return NULL;
}

/* ---- lock contention ---- */

NOINLINE static uint32_t checksum_region(const uint32_t *p, size_t words, unsigned rounds) {
  KEEP_FRAME();
  uint32_t h = 2166136261u;
  for (unsigned r = 0; r < rounds; r++)
    for (size_t i = 0; i < words; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

NOINLINE static void hold_lock_and_checksum(void) {
  pthread_mutex_lock(&shared_lock);
  shared_buffer[0] ^= checksum_region(shared_buffer, BUFFER_WORDS, 40);
  pthread_mutex_unlock(&shared_lock);
}

static void *lock_holder_main(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "lock-holder");
  while (!stopping) {
    hold_lock_and_checksum();
    sleep_ms(15);
  }
  return NULL;
}

NOINLINE static void update_totals(void) {
  KEEP_FRAME();
  for (int i = 0; i < BUFFER_WORDS; i += 64) totals[7] += shared_buffer[i];
}

NOINLINE static void wait_for_lock(void) {
  pthread_mutex_lock(&shared_lock);
  update_totals();
  pthread_mutex_unlock(&shared_lock);
}

static void *lock_waiter_main(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "lock-waiter");
  while (!stopping) {
    wait_for_lock();
    sleep_ms(3);
  }
  return NULL;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 2.0;
  if (seconds <= 0) seconds = 2.0;
  pthread_setname_np(pthread_self(), "demo-main");
  for (size_t i = 0; i < BUFFER_WORDS; i++) shared_buffer[i] = (uint32_t)(i * 2654435761u);

  pthread_t workers[NWORKERS], holder, waiter;
  for (intptr_t i = 0; i < NWORKERS; i++) pthread_create(&workers[i], NULL, worker_main, (void *)i);
  pthread_create(&holder, NULL, lock_holder_main, NULL);
  sleep_ms(1);
  pthread_create(&waiter, NULL, lock_waiter_main, NULL);

  double end = now_seconds() + seconds;
  unsigned seed = 1;
  while (now_seconds() < end) {
    struct job j = {seed % 3 == 0 ? JOB_MATRIX : JOB_PRIMES, seed};
    enqueue_job(j);
    seed++;
    sleep_ms(4);
  }

  stopping = 1;
  pthread_mutex_lock(&queue.mu);
  queue.closed = 1;
  pthread_cond_broadcast(&queue.nonempty);
  pthread_mutex_unlock(&queue.mu);
  for (int i = 0; i < NWORKERS; i++) pthread_join(workers[i], NULL);
  pthread_join(holder, NULL);
  pthread_join(waiter, NULL);

  uint64_t sum = 0;
  for (int i = 0; i < 8; i++) sum += totals[i];
  printf("demo: pid %d, %u jobs dispatched, checksum %llu\n", (int)getpid(), seed - 1, (unsigned long long)sum);
  return 0;
}
