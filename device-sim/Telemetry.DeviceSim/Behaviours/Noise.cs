namespace Telemetry.DeviceSim.Behaviours;

/// <summary>Deterministic randomness: seeds derived from the simulation seed, Gaussian noise and hashed noise.</summary>
public static class Noise
{
    /// <summary>A seed for one part of the simulation (a sensor, a room), stable for a given simulation seed.</summary>
    public static int Derive(int seed, int salt, int index) =>
        (int)Mix(((ulong)(uint)seed << 32) ^ ((ulong)(uint)salt << 20) ^ (uint)index);

    /// <summary>A uniform value in [0, 1) that depends only on the key and the bucket: no state, safe to share.</summary>
    public static double Uniform(int key, long bucket) =>
        (Mix(((ulong)(uint)key << 32) ^ (ulong)bucket) >> 11) * (1.0 / (1UL << 53));

    /// <summary>A normally distributed value (Box–Muller).</summary>
    public static double Gaussian(this Random random, double standardDeviation)
    {
        ArgumentNullException.ThrowIfNull(random);
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return standardDeviation * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>A uniform value in [min, max).</summary>
    public static double Between(this Random random, double min, double max)
    {
        ArgumentNullException.ThrowIfNull(random);
        return min + (max - min) * random.NextDouble();
    }

    // SplitMix64's finaliser.
    static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
