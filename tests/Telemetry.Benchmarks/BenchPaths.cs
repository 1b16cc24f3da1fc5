namespace Telemetry.Benchmarks;

static class BenchPaths
{
    /// <summary>
    /// <c>.data/bench</c> of the repository this program was built in (ignored by git, on the repository's disk), found
    /// by walking up from the binary to <c>Telemetry.sln</c>; the system temp folder otherwise. Not /tmp by default:
    /// it is a tmpfs on many systems, where fsync costs nothing and the numbers would say nothing about a disk.
    /// </summary>
    public static string DefaultDataDirectory()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Telemetry.sln")))
            {
                return Path.Combine(folder.FullName, ".data", "bench");
            }
        }

        return Path.GetTempPath();
    }
}
