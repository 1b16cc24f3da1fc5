using System.Security.Cryptography;
using System.Text;
using Telemetry.Service.Security;

namespace Telemetry.UnitTests.Security;

public sealed class ApiKeysTests
{
    [Fact]
    public void Create_MakesA256BitKey_AndItsSha256Hash()
    {
        var key = ApiKeys.Create("grafana", ApiRoles.Viewer);

        Assert.Equal("grafana", key.Name);
        Assert.Equal(ApiRoles.Viewer, key.Role);
        Assert.StartsWith(ApiKeys.Prefix, key.Key, StringComparison.Ordinal);
        Assert.True(ApiKeys.IsWellFormed(key.Key));
        var random = System.Buffers.Text.Base64Url.DecodeFromChars(key.Key.AsSpan(ApiKeys.Prefix.Length));
        Assert.Equal(32, random.Length);
        // What `printf %s "$KEY" | sha256sum` prints, so an operator can check a key by hand.
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key.Key))), key.Hash);
        Assert.DoesNotContain(key.Key, key.Hash, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_NeverRepeatsAKey()
    {
        var keys = Enumerable.Range(0, 1000).Select(_ => ApiKeys.Create("k", ApiRoles.Admin).Key).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(1000, keys.Count);
    }

    [Theory]
    [InlineData("", "viewer", "needs a name")]
    [InlineData(" padded", "viewer", "white space")]
    [InlineData("line\nbreak", "viewer", "control characters")]
    [InlineData("grafana", "root", "must be one of viewer, technician, admin")]
    [InlineData("grafana", "Viewer", "must be one of")]
    public void Create_RefusesABadNameOrRole(string name, string role, string expected)
    {
        var ex = Assert.Throws<ArgumentException>(() => ApiKeys.Create(name, role));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_RefusesANameLongerThan64()
    {
        Assert.NotNull(Record.Exception(() => ApiKeys.Create(new string('a', 65), ApiRoles.Viewer)));
        Assert.Null(Record.Exception(() => ApiKeys.Create(new string('a', 64), ApiRoles.Viewer)));
    }

    [Fact]
    public void TheKeySet_FindsEachKeysOwnEntry_AndNothingForAnotherKey()
    {
        var alice = ApiKeys.Create("alice", ApiRoles.Technician);
        var board = ApiKeys.Create("wallboard", ApiRoles.Viewer);
        var set = ApiKeySet.From(Options(alice, board));

        Assert.Equal(("alice", ApiRoles.Technician), (set.Find(alice.Key)!.Name, set.Find(alice.Key)!.Role));
        Assert.Equal("wallboard", set.Find(board.Key)!.Name);
        Assert.Null(set.Find(ApiKeys.Create("mallory", ApiRoles.Admin).Key));
    }

    [Fact]
    public void TheKeySet_FindsNothingForAKeyOneCharacterOff_OrCutShort_OrPadded()
    {
        var alice = ApiKeys.Create("alice", ApiRoles.Technician);
        var set = ApiKeySet.From(Options(alice));
        var last = alice.Key[^1];
        var changed = alice.Key[..^1] + (last == 'A' ? 'B' : 'A');

        Assert.Null(set.Find(changed));
        Assert.Null(set.Find(alice.Key[..^1]));
        Assert.Null(set.Find(alice.Key + "A"));
        Assert.Null(set.Find(alice.Key.ToUpperInvariant()));
        Assert.Null(set.Find(""));
    }

    [Fact]
    public void AHandMadeShortKey_IsNeverAccepted_EvenWithItsHashConfigured()
    {
        // Someone hashes a password by hand and configures it: the key set never compares keys of another form.
        var options = new ApiOptions();
        options.Keys.Add(new ApiKeyOptions { Name = "weak", Role = ApiRoles.Admin, Hash = ApiKeys.Hash("admin") });
        Assert.Empty(ApiSettings.Problems(options));

        Assert.Null(ApiKeySet.From(options).Find("admin"));
    }

    [Theory]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef", true)]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", false)]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde", false)]
    [InlineData("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg", false)]
    [InlineData("md5:0123456789abcdef0123456789abcdef", false)]
    [InlineData("ctk_ONZkAwtsfSGrH9vNfhL2Kh2fTpTtSLEleJXAE_TyvU8", false)]
    public void ParseHash_TakesOnlySha256AndSixtyFourHexDigits(string hash, bool valid) =>
        Assert.Equal(valid, ApiKeys.ParseHash(hash) is { Length: 32 });

    [Fact]
    public void TheConfigurationEntries_HoldTheHash_NeverTheKey()
    {
        var key = ApiKeys.Create("bms \"north\"", ApiRoles.Viewer);
        var json = System.Text.Json.JsonDocument.Parse(key.JsonEntry()).RootElement;

        Assert.Equal("bms \"north\"", json.GetProperty("Name").GetString());
        Assert.Equal(key.Hash, json.GetProperty("Hash").GetString());
        Assert.DoesNotContain(key.Key, key.JsonEntry(), StringComparison.Ordinal);
        Assert.Equal(["Api__Keys__2__Name=bms \"north\"", "Api__Keys__2__Role=viewer", $"Api__Keys__2__Hash={key.Hash}"], key.EnvironmentLines(2));
    }

    [Fact]
    public async Task TheCommand_PrintsTheKeyOnce_AndAnEntryWithItsHash()
    {
        using var output = new StringWriter();

        var exit = await ApiKeyCommand.RunAsync(["api-key", "new", "night shift", "technician"], output);

        Assert.Equal(0, exit);
        var lines = output.ToString().Split('\n', StringSplitOptions.TrimEntries);
        var key = lines[0];
        Assert.True(ApiKeys.IsWellFormed(key), key);
        Assert.Single(lines, l => l.Contains(key, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"\"Hash\": \"{ApiKeys.Hash(key)}\"", StringComparison.Ordinal) && l.Contains("\"Role\": \"technician\"", StringComparison.Ordinal));
        Assert.Contains($"Api__Keys__<n>__Hash={ApiKeys.Hash(key)}", lines);
    }

    [Fact]
    public async Task TheCommand_RefusesAnUnknownRole()
    {
        using var output = new StringWriter();

        var exit = await ApiKeyCommand.RunAsync(["api-key", "new", "someone", "root"], output);

        Assert.NotEqual(0, exit);
        Assert.DoesNotContain(ApiKeys.Prefix, output.ToString(), StringComparison.Ordinal);
    }

    static ApiOptions Options(params NewApiKey[] keys)
    {
        var options = new ApiOptions();
        foreach (var key in keys)
        {
            options.Keys.Add(new ApiKeyOptions { Name = key.Name, Role = key.Role, Hash = key.Hash });
        }

        Assert.Empty(ApiSettings.Problems(options));
        return options;
    }
}
