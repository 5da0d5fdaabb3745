package org.lori4j.server;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.lori4j.generate.Engine;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The chat page in a real headless browser (Debian's chromium and chromedriver, driven by Selenium): type a message,
 * see the streamed answer appear, switch the adapter. Skipped when chromium or chromedriver is not installed
 * (.ci/run installs them). Leaves a screenshot in server/target/playground.png.
 */
class PlaygroundBrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium"), DRIVER = Path.of("/usr/bin/chromedriver");
    static TestServer ts;
    static WebDriver driver;
    static Path profile;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER),
                "browser test skipped: needs " + CHROMIUM + " and " + DRIVER + " (apt-get install chromium chromium-driver)");
        ts = new TestServer(new Engine.Options(4, 16, 256), null, 128);
        profile = Files.createTempDirectory("lori-chromium");
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,820",
                "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort().build();
        driver = new ChromeDriver(service, o);
    }

    @AfterAll
    static void stop() throws Exception {
        if (driver != null) driver.quit();
        if (ts != null) ts.close();
        if (profile != null) {
            try (var s = Files.walk(profile)) {
                for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) p.toFile().delete();
            }
        }
    }

    /** Sends a message with the model picked in the list and returns the finished answer's element. */
    static WebElement ask(String model, String message) {
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(60));
        new Select(driver.findElement(By.id("model"))).selectByValue(model);
        WebElement prompt = driver.findElement(By.id("prompt"));
        prompt.sendKeys(message);
        int before = driver.findElements(By.cssSelector(".msg.assistant")).size();
        driver.findElement(By.id("send")).click();
        wait.until(d -> d.findElements(By.cssSelector(".msg.assistant")).size() > before);
        List<WebElement> replies = driver.findElements(By.cssSelector(".msg.assistant"));
        WebElement reply = replies.getLast();
        wait.until(d -> "true".equals(reply.getDomAttribute("data-done")));
        return reply;
    }

    @Test
    void typeAMessageSeeTheStreamedAnswerSwitchAdapters() throws Exception {
        driver.get(ts.url() + "/");
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
        wait.until(d -> d.findElements(By.cssSelector("#model option")).size() == 3);
        assertTrue(driver.findElement(By.id("status")).getText().contains("3 models"));
        // greedy, so the page's answers can be compared with lori generate's
        WebElement t = driver.findElement(By.id("temperature"));
        ((org.openqa.selenium.JavascriptExecutor) driver).executeScript(
                "arguments[0].value = '0'; arguments[0].dispatchEvent(new Event('input'));", t);
        WebElement max = driver.findElement(By.id("max-tokens"));
        max.clear();
        max.sendKeys("40");

        WebElement reply = ask("sparse", "Tell me a story");
        String sparse = reply.findElement(By.className("text")).getText().strip();
        assertEquals(ts.reference("sparse", "Tell me a story", 40, List.of()).strip(), sparse);
        assertTrue(Integer.parseInt(reply.getDomAttribute("data-chunks")) > 1, "the answer arrived in pieces");
        String stats = driver.findElement(By.id("stats")).getText();
        assertTrue(stats.matches("40 tokens, [0-9.]+ tokens/s, first token after [0-9.]+ s"), stats);

        // another adapter in a new conversation answers differently, as it does through the API
        driver.findElement(By.id("clear")).click();
        String base = ask("stories260K", "Tell me a story").findElement(By.className("text")).getText().strip();
        assertEquals(ts.reference(null, "Tell me a story", 40, List.of()).strip(), base);
        assertNotEquals(base, sparse);

        // a screenshot of a conversation for the docs
        ask("dense", "Where did the dog go?");
        File shot = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        Files.copy(shot.toPath(), Path.of("target", "playground.png"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
