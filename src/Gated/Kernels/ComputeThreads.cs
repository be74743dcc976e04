using System.Diagnostics;

namespace Gated.Kernels;

/// <summary>
/// How many threads Gated's matrix products run on. Results are identical, bit for bit, whatever the
/// count: work is split by blocks of output columns (or rows), and every output element is computed by
/// one thread with the same sequence of operations as on one thread.
/// </summary>
/// <remarks>
/// The default is <see cref="Environment.ProcessorCount"/>, capped at 64. Small products run on the
/// calling thread alone (handing work to another thread costs a few microseconds). The workers are
/// background threads started on first use; between products they spin briefly, then sleep.
/// </remarks>
public static class ComputeThreads
{
    private static int count = Math.Clamp(Environment.ProcessorCount, 1, 64);

    /// <summary>The number of threads a large matrix product is split over (1 = the calling thread only).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1 or above 64.</exception>
    public static int Count
    {
        get => Volatile.Read(ref count);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, 64);
            Volatile.Write(ref count, value);
        }
    }

    /// <summary>
    /// The threads a product started on this thread may use: <see cref="Count"/>, or 1 inside a part of a
    /// job that is already split over the workers (a time step split by batch rows runs each part's
    /// products on that part's own thread; the pool runs one job at a time).
    /// </summary>
    internal static int AvailableHere => WorkerPool.IsInsideJob ? 1 : Count;
}

/// <summary>A piece of work split into parts, each run by one thread: <see cref="Execute"/>(part, parts).</summary>
internal interface IParallelJob
{
    void Execute(int part, int parts);
}

/// <summary>
/// A fixed set of worker threads that run the parts of one <see cref="IParallelJob"/> beside the calling
/// thread, without allocating per job. One job at a time: a caller that finds the pool busy (another
/// thread is using it) runs its whole job alone, which gives the same results.
/// </summary>
internal static class WorkerPool
{
    // Workers spin this long after a job before they sleep: a recurrent layer issues one product per
    // time step, tens of microseconds apart, and waking a sleeping thread costs more than that.
    private static readonly long SpinTicks = Stopwatch.Frequency / 5000; // 200 µs

    private static readonly object StartLock = new();
    private static Worker[] workers = [];
    private static int busy;

    [ThreadStatic] private static bool insideJob;

    /// <summary>True on a thread while it runs a part of a job (the caller's part 0 included).</summary>
    public static bool IsInsideJob => insideJob;

    private static IParallelJob? currentJob;
    private static int currentParts;
    private static int generation;
    private static int pending;

    /// <summary>
    /// Runs <paramref name="job"/> as <paramref name="parts"/> parts (part 0 on the calling thread) and
    /// returns when all are done. Callers size jobs so that waking a sleeping worker pays
    /// (<paramref name="work"/>, in multiply-adds, is kept for that decision). Results are the same either way.
    /// </summary>
    public static void Run(IParallelJob job, int parts, long work)
    {
        if (parts <= 1 || Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            RunAlone(job, parts);
            return;
        }
        try
        {
            EnsureWorkers(parts - 1);
            currentJob = job;
            currentParts = parts;
            Volatile.Write(ref pending, parts - 1);
            Interlocked.Increment(ref generation);
            for (int w = 0; w < parts - 1; w++) workers[w].Wake.Set();
            Exception? error = null;
            insideJob = true;
            try { job.Execute(0, parts); }
            catch (Exception e) { error = e; }
            finally { insideJob = false; }
            var spin = new SpinWait();
            while (Volatile.Read(ref pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
            currentJob = null;
            Exception? workerError = null;
            for (int w = 0; w < parts - 1; w++)
            {
                workerError ??= workers[w].Error;
                workers[w].Error = null;
            }
            if (error is not null) throw error;
            if (workerError is not null) throw new AggregateException("A worker thread failed.", workerError);
        }
        finally
        {
            Volatile.Write(ref busy, 0);
        }
    }

    private static void RunAlone(IParallelJob job, int parts)
    {
        // Same parts, one after another: the split (and so every result) does not depend on who runs it.
        bool outer = insideJob;
        insideJob = true;
        try
        {
            for (int part = 0; part < Math.Max(parts, 1); part++) job.Execute(part, Math.Max(parts, 1));
        }
        finally
        {
            insideJob = outer;
        }
    }

    private static void EnsureWorkers(int needed)
    {
        if (workers.Length >= needed) return;
        lock (StartLock)
        {
            if (workers.Length >= needed) return;
            var grown = new Worker[needed];
            Array.Copy(workers, grown, workers.Length);
            for (int w = workers.Length; w < needed; w++)
            {
                var worker = new Worker(w + 1, Volatile.Read(ref generation));
                grown[w] = worker;
                var thread = new Thread(worker.Loop) { IsBackground = true, Name = $"Gated compute {w + 1}" };
                thread.Start();
            }
            workers = grown;
        }
    }

    private sealed class Worker(int part, int startGeneration)
    {
        public readonly ManualResetEventSlim Wake = new(false, spinCount: 1);
        public Exception? Error;

        public void Loop()
        {
            // The generation when the worker was made, before the job that needed it was published:
            // reading it here instead would miss that job if the thread starts late.
            int seen = startGeneration;
            while (true)
            {
                long start = Stopwatch.GetTimestamp();
                int now;
                while ((now = Volatile.Read(ref generation)) == seen)
                {
                    if (Stopwatch.GetTimestamp() - start > SpinTicks)
                    {
                        // The caller bumps the generation before it sets the event, so a job that arrives
                        // between Reset and the check is seen by the check.
                        Wake.Wait();
                        Wake.Reset();
                        start = Stopwatch.GetTimestamp();
                        continue;
                    }
                    Thread.SpinWait(16);
                }
                seen = now;
                IParallelJob? job = currentJob;
                int parts = currentParts;
                if (job is not null && part < parts)
                {
                    insideJob = true;
                    try { job.Execute(part, parts); }
                    catch (Exception e) { Error = e; }
                    finally { insideJob = false; }
                    Interlocked.Decrement(ref pending);
                }
            }
        }
    }
}
