using Telemetry.Admin;
using Telemetry.Domain.Identity;

namespace Telemetry.UnitTests.Identity;

/// <summary><c>telemetry-admin devices</c> run in-process against a temporary store.</summary>
public sealed class AdminCliTests : IDisposable
{
    readonly string folder = Directory.CreateTempSubdirectory("telemetry-admin-test-").FullName;

    string Store => Path.Combine(folder, "devices.passwd");

    public void Dispose() => Directory.Delete(folder, recursive: true);

    async Task<(int Code, string Output, string Error)> RunAsync(string input, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await AdminCli.InvokeAsync([.. args, "--store", Store], new StringReader(input), output, error);
        return (code, output.ToString(), error.ToString());
    }

    IReadOnlyDictionary<string, CredentialEntry> Entries() => CredentialFile.Parse(File.ReadAllText(Store));

    [Fact]
    public async Task Add_generates_a_password_printed_once_or_reads_it_from_stdin_or_a_file_and_writes_the_store_0600()
    {
        var generated = await RunAsync("", "devices", "add", "freezer-1", "--iterations", "100000");
        Assert.Equal(0, generated.Code);
        var password = generated.Output.Trim();
        Assert.Equal(24, password.Length);
        Assert.True(Entries()["freezer-1"].Hash.Verify(password));
        Assert.DoesNotContain(password, File.ReadAllText(Store), StringComparison.Ordinal);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Store));
        }

        Assert.Equal(0, (await RunAsync("gw-secret\n", "devices", "add", "gw-1", "--sensors", "a,b", "--roles", "alerts", "--password-stdin", "--iterations", "100000")).Code);
        Assert.True(Entries()["gw-1"].Hash.Verify("gw-secret"));
        Assert.Equal(["a", "b"], Entries()["gw-1"].Sensors);
        Assert.True(Entries()["gw-1"].HasRole("alerts"));

        var file = Path.Combine(folder, "pw");
        await File.WriteAllTextAsync(file, "from-file\nignored\n", TestContext.Current.CancellationToken);
        Assert.Equal(0, (await RunAsync("", "devices", "add", "meter-1", "--password-file", file, "--iterations", "100000")).Code);
        Assert.True(Entries()["meter-1"].Hash.Verify("from-file"));

        var duplicate = await RunAsync("", "devices", "add", "meter-1");
        Assert.Equal(AdminCli.Usage, duplicate.Code);
        Assert.Contains("already", duplicate.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_on_the_command_line_is_refused_with_the_reason()
    {
        var refused = await RunAsync("", "devices", "add", "freezer-1", "--password", "hunter2");
        Assert.Equal(AdminCli.Usage, refused.Code);
        Assert.Contains("readable by every local user", refused.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Store));
    }

    [Fact]
    public async Task Rotate_changes_the_hash_and_keeps_sensors_comments_and_order_and_revoke_removes_the_line()
    {
        await File.WriteAllTextAsync(Store, "# campus devices\n", TestContext.Current.CancellationToken);
        Assert.Equal(0, (await RunAsync("one\n", "devices", "add", "a", "--password-stdin", "--sensors", "x", "--iterations", "100000")).Code);
        Assert.Equal(0, (await RunAsync("two\n", "devices", "add", "b", "--password-stdin", "--iterations", "100000")).Code);

        Assert.Equal(0, (await RunAsync("three\n", "devices", "rotate", "a", "--password-stdin", "--iterations", "100000")).Code);
        Assert.True(Entries()["a"].Hash.Verify("three"));
        Assert.False(Entries()["a"].Hash.Verify("one"));
        Assert.Equal(["x"], Entries()["a"].Sensors);

        Assert.Equal(0, (await RunAsync("", "devices", "revoke", "a")).Code);
        var lines = File.ReadAllLines(Store);
        Assert.Equal("# campus devices", lines[0]);
        Assert.Equal(["b"], Entries().Keys);
        Assert.Equal(AdminCli.Usage, (await RunAsync("", "devices", "revoke", "a")).Code);
        Assert.Empty(Directory.GetFiles(folder, "*.tmp"));
    }

    [Fact]
    public async Task Import_reads_or_generates_passwords_into_a_0600_file_and_refuses_the_whole_file_on_a_duplicate()
    {
        var csv = Path.Combine(folder, "devices.csv");
        var passwords = Path.Combine(folder, "passwords.csv");
        await File.WriteAllLinesAsync(csv, ["id,sensors,roles,password", "d1,,,given-1", "gw,s1 s2,,", "bms,,alerts,"], TestContext.Current.CancellationToken);

        var withoutOut = await RunAsync("", "devices", "import", csv, "--iterations", "100000");
        Assert.Equal(AdminCli.Usage, withoutOut.Code);
        Assert.False(File.Exists(Store));

        Assert.Equal(0, (await RunAsync("", "devices", "import", csv, "--passwords-out", passwords, "--iterations", "100000")).Code);
        var generated = File.ReadAllLines(passwords).Select(l => l.Split(',')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal(["bms", "gw"], generated.Keys.Order());
        Assert.True(Entries()["d1"].Hash.Verify("given-1"));
        Assert.True(Entries()["gw"].Hash.Verify(generated["gw"]));
        Assert.Equal(["s1", "s2"], Entries()["gw"].Sensors);
        Assert.True(Entries()["bms"].HasRole("alerts"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passwords));
        }

        var again = await RunAsync("", "devices", "import", csv, "--passwords-out", passwords);
        Assert.Equal(AdminCli.Usage, again.Code);
        Assert.Equal(3, Entries().Count);

        var list = await RunAsync("", "devices", "list");
        Assert.Contains("gw\tsensors=s1,s2", list.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("$pbkdf2", list.Output, StringComparison.Ordinal);
    }
}
