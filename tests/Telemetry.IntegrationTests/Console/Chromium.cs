using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Telemetry.IntegrationTests.TechnicianConsole;

/// <summary>
/// Debian's headless chromium driven through Debian's chromedriver (both from apt, matching versions; test.sh installs
/// them). The driver's path is given, so Selenium Manager never tries to download one. Each instance is a fresh browser
/// profile (no cookies).
/// </summary>
public sealed class Chromium : IDisposable
{
    public const string BrowserPath = "/usr/bin/chromium";
    public const string DriverDirectory = "/usr/bin";
    public const string DriverName = "chromedriver";

    readonly ChromeDriverService service;

    Chromium(ChromeDriverService service, ChromeDriver driver)
    {
        this.service = service;
        Driver = driver;
    }

    public ChromeDriver Driver { get; }

    public static Chromium Start(int width = 1280, int height = 640)
    {
        if (!File.Exists(BrowserPath) || !File.Exists(Path.Combine(DriverDirectory, DriverName)))
        {
            throw new InvalidOperationException($"{BrowserPath} and {DriverDirectory}/{DriverName} are needed: apt-get install chromium chromium-driver (test.sh does)");
        }

        var service = ChromeDriverService.CreateDefaultService(DriverDirectory, DriverName);
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        var options = new ChromeOptions { BinaryLocation = BrowserPath };
        // Root in a container: no sandbox. The background-networking flags keep chromium from calling hosts the
        // closed test network refuses.
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            $"--window-size={width},{height}", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--lang=en-GB");
        try
        {
            return new Chromium(service, new ChromeDriver(service, options, TimeSpan.FromSeconds(60)));
        }
        catch
        {
            service.Dispose();
            throw;
        }
    }

    /// <summary>Opens <paramref name="url"/>.</summary>
    public void Open(Uri url) => Driver.Navigate().GoToUrl(url);

    /// <summary>The page's path and query now.</summary>
    public string PathAndQuery => new Uri(Driver.Url).PathAndQuery;

    /// <summary>The elements matching <paramref name="css"/> now (none when there are none).</summary>
    public IReadOnlyList<IWebElement> All(string css) => Driver.FindElements(By.CssSelector(css));

    /// <summary>The text of the first element matching <paramref name="css"/>, or null when there is none.</summary>
    public string? TextOf(string css) => All(css) is [var first, ..] ? first.Text : null;

    /// <summary>Saves a PNG of the window.</summary>
    public void Screenshot(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        Driver.GetScreenshot().SaveAsFile(path);
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        service.Dispose();
    }
}
